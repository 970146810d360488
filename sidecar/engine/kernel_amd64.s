#include "textflag.h"

// func gemmRowAVX2(y, a, b []float32, ldb int)
// y[j] += a[k]*b[k*ldb+j] for k = 0 .. len(a)-1 in order, each product
// rounded (VMULPS) before it is added (VADDPS): never fused. len(y) is a
// multiple of 8; the caller checked that b is long enough. Columns go 32
// at a time (four accumulators kept in registers across k), then 8.
TEXT ·gemmRowAVX2(SB), NOSPLIT, $0-80
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ a_base+24(FP), SI
	MOVQ a_len+32(FP), R8
	MOVQ b_base+48(FP), DX
	MOVQ ldb+72(FP), R9
	SHLQ $2, R9
	TESTQ R8, R8
	JZ   done

loop32:
	CMPQ CX, $32
	JLT  loop8
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12
k32:
	VBROADCASTSS (R10), Y4
	VMULPS 0(R11), Y4, Y5
	VADDPS Y5, Y0, Y0
	VMULPS 32(R11), Y4, Y6
	VADDPS Y6, Y1, Y1
	VMULPS 64(R11), Y4, Y7
	VADDPS Y7, Y2, Y2
	VMULPS 96(R11), Y4, Y8
	VADDPS Y8, Y3, Y3
	ADDQ $4, R10
	ADDQ R9, R11
	DECQ R12
	JNZ  k32
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  done
	VMOVUPS (DI), Y0
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12
k8:
	VBROADCASTSS (R10), Y4
	VMULPS (R11), Y4, Y5
	VADDPS Y5, Y0, Y0
	ADDQ $4, R10
	ADDQ R9, R11
	DECQ R12
	JNZ  k8
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JMP  loop8

done:
	VZEROUPPER
	RET
