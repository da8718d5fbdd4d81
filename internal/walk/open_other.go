//go:build !unix

package walk

// nonBlocking is 0 where opens do not block on FIFOs.
const nonBlocking = 0
