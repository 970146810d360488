//go:build !amd64

package aggregate

func axpy(acc, v []float32, w float32)                    { axpyGeneric(acc, v, w) }
func minMax(a, b []int32)                                 { minMaxGeneric(a, b) }
func loadKeys(dst []int32, src []float32) (bad bool)      { return loadKeysGeneric(dst, src) }
func addKeys(sums []float64, keys []int32)                { addKeysGeneric(sums, keys) }
func meanOfSums(out []float32, sums []float64, k float64) { meanOfSumsGeneric(out, sums, k) }
