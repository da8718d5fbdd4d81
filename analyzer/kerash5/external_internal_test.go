package kerash5

import (
	"fmt"
	"strings"
	"testing"
)

// TestNewRefBounds: one finding lists at most maxNames parts and distinct
// file names, each cut to maxNameLen bytes, and counts the rest.
func TestNewRefBounds(t *testing.T) {
	var parts, files []string
	for i := range 15 {
		parts = append(parts, fmt.Sprintf("p%d", i))
		files = append(files, fmt.Sprintf("/f%d", i), fmt.Sprintf("/f%d", i)) // each twice
	}
	files = append(files, strings.Repeat("x", 5000))
	r := newRef(ClassExternalStorage, "D: ", parts, files)
	if want := "D: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 5 more"; r.detail != want {
		t.Errorf("detail %q", r.detail)
	}
	if len(r.files) != maxNames || r.files[9] != "/f9" || r.more != 6 {
		t.Errorf("files %q, %d more", r.files, r.more)
	}
	r = newRef(ClassExternalLink, "L", nil, []string{strings.Repeat("y", 5000), "/a"})
	if len(r.files) != 2 || len(r.files[0]) != maxNameLen+3 || r.files[1] != "/a" || r.more != 0 || r.detail != "L" {
		t.Errorf("%+v", r)
	}
}
