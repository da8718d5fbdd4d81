package discover

import (
	"strconv"
	"testing"

	tu "github.com/violet-mlsecops/violet/internal/testutil"
)

func itoa(n int) string { return strconv.Itoa(n) }

// zipOf builds a zip archive of the files.
func zipOf(t *testing.T, files map[string]string) string { return string(tu.ZipBytes(t, files)) }
