// Package memlimit gives a Lambda function's Go runtime a soft memory limit under the
// function's memory, so that the garbage collector works harder before the sandbox is out of
// memory instead of after: GOMEMLIMIT is set to Share of AWS_LAMBDA_FUNCTION_MEMORY_SIZE
// (the rest is the runtime's own, the binary and what is not Go heap). A GOMEMLIMIT set in
// the environment wins.
package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
)

// Share is the part of the function's memory the Go runtime aims to stay under.
const Share = 0.85

// Set sets the limit from the environment and returns it in bytes (0 when it set none: no
// function memory size, or GOMEMLIMIT given).
func Set() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	n := Limit(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if n > 0 {
		debug.SetMemoryLimit(n)
	}
	return n
}

// Limit is the limit for a function memory size in MB ("" or invalid: 0).
func Limit(memoryMB string) int64 {
	mb, err := strconv.Atoi(memoryMB)
	if err != nil || mb <= 0 {
		return 0
	}
	return int64(math.Floor(float64(mb) * Share * (1 << 20)))
}
