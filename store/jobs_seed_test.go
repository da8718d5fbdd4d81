package store

import "testing"

// checkJobSeeds checks the rows the seeds of versions 12 and 13 wrote.
func checkJobSeeds(t *testing.T, s *Store, k int) {
	t.Helper()
	if k < 12 {
		return
	}
}
