package gpu

// kernelNames are the kernels of kernels/cohort.cu that the CUDA backend
// launches (the default tests check that the committed PTX defines them).
var kernelNames = []string{
	"cohort_exp", "cohort_log",
	"cohort_gemm", "cohort_bias_grad", "cohort_im2col", "cohort_col2im",
	"cohort_maxpool_fwd", "cohort_maxpool_bwd", "cohort_relu_fwd", "cohort_relu_bwd", "cohort_mul",
	"cohort_softmax_xent",
	"cohort_fedavg", "cohort_sorted", "cohort_pair_sqdist", "cohort_mean_rows", "cohort_weighted_rows",
	"cohort_clip_step", "cohort_finite",
}
