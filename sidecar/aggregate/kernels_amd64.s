#include "textflag.h"

// func axpyAVX2(acc, v []float32, w float32)
// acc[j] = acc[j] + float32(w*v[j]): VMULPS then VADDPS, two roundings,
// never fused. len(acc) is a multiple of 8 and len(v) >= len(acc).
TEXT ·axpyAVX2(SB), NOSPLIT, $0-52
	MOVQ acc_base+0(FP), DI
	MOVQ acc_len+8(FP), CX
	MOVQ v_base+24(FP), SI
	VBROADCASTSS w+48(FP), Y0
	SHRQ $3, CX
	JZ   axpydone
axpyloop:
	VMULPS  (SI), Y0, Y1
	VADDPS  (DI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     axpyloop
axpydone:
	VZEROUPPER
	RET

// func minMaxAVX2(a, b []int32)
// a[c], b[c] = min(a[c], b[c]), max(a[c], b[c]) as signed 32-bit integers.
TEXT ·minMaxAVX2(SB), NOSPLIT, $0-48
	MOVQ a_base+0(FP), DI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), SI
	SHRQ $3, CX
	JZ   mmdone
mmloop:
	VMOVDQU (DI), Y0
	VMOVDQU (SI), Y1
	VPMINSD Y1, Y0, Y2
	VPMAXSD Y1, Y0, Y3
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, (SI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	DECQ    CX
	JNZ     mmloop
mmdone:
	VZEROUPPER
	RET

// func loadKeysAVX2(dst []int32, src []float32) bool
// dst[c] = b ^ ((b >> 31) & 0x7FFFFFFF) with b the bits of src[c]
// (arithmetic shift); returns whether any src[c] has an all-ones exponent.
TEXT ·loadKeysAVX2(SB), NOSPLIT, $0-49
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVL $0x7FFFFFFF, AX
	MOVD AX, X5
	VPBROADCASTD X5, Y5
	MOVL $0x7F800000, AX
	MOVD AX, X6
	VPBROADCASTD X6, Y6
	VPXOR Y7, Y7, Y7
	SHRQ $3, CX
	JZ   lkdone
lkloop:
	VMOVDQU (SI), Y0
	VPSRAD  $31, Y0, Y1
	VPAND   Y5, Y1, Y1
	VPXOR   Y0, Y1, Y1
	VMOVDQU Y1, (DI)
	VPAND   Y6, Y0, Y2
	VPCMPEQD Y6, Y2, Y2
	VPOR    Y2, Y7, Y7
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     lkloop
lkdone:
	VPTEST Y7, Y7
	SETNE  ret+48(FP)
	VZEROUPPER
	RET

// func addKeysAVX2(sums []float64, keys []int32)
// sums[c] += float64(fromOrderedKey(keys[c])): the key is turned back into
// its float32 bits (the same xor as loadKeys), widened exactly to float64
// (VCVTPS2PD) and added with one rounding (VADDPD). len(sums) is a
// multiple of 8 and len(keys) >= len(sums).
TEXT ·addKeysAVX2(SB), NOSPLIT, $0-48
	MOVQ sums_base+0(FP), DI
	MOVQ sums_len+8(FP), CX
	MOVQ keys_base+24(FP), SI
	MOVL $0x7FFFFFFF, AX
	MOVD AX, X5
	VPBROADCASTD X5, Y5
	SHRQ $3, CX
	JZ   akdone
akloop:
	VMOVDQU   (SI), Y0
	VPSRAD    $31, Y0, Y1
	VPAND     Y5, Y1, Y1
	VPXOR     Y0, Y1, Y0
	VCVTPS2PD X0, Y2
	VEXTRACTI128 $1, Y0, X3
	VCVTPS2PD X3, Y3
	VADDPD    (DI), Y2, Y2
	VADDPD    32(DI), Y3, Y3
	VMOVUPD   Y2, (DI)
	VMOVUPD   Y3, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       akloop
akdone:
	VZEROUPPER
	RET

// func meanOfSumsAVX2(out []float32, sums []float64, k float64)
// out[c] = float32(sums[c] / k): VDIVPD, then VCVTPD2PS rounding to
// nearest even as Go's conversion does. len(out) is a multiple of 8 and
// len(sums) >= len(out).
TEXT ·meanOfSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ sums_base+24(FP), SI
	VBROADCASTSD k+48(FP), Y4
	SHRQ $3, CX
	JZ   msdone
msloop:
	VMOVUPD   (SI), Y0
	VMOVUPD   32(SI), Y1
	VDIVPD    Y4, Y0, Y0
	VDIVPD    Y4, Y1, Y1
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VMOVUPS   X0, (DI)
	VMOVUPS   X1, 16(DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       msloop
msdone:
	VZEROUPPER
	RET
