package gate

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/violet-mlsecops/violet/release"
)

// TestReleaseSignoffsData: the default policy's table of sign-offs is the
// one violet serve requires (release.DefaultSignoffs): one table, held in
// two places, never apart.
func TestReleaseSignoffsData(t *testing.T) {
	files, err := DefaultPolicyFiles()
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Violet struct {
			ReleaseSignoffs release.Signoffs `json:"release_signoffs"`
		} `json:"violet"`
	}
	if err := json.Unmarshal(files["data.json"], &data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(data.Violet.ReleaseSignoffs, release.DefaultSignoffs) {
		t.Fatalf("data.json release_signoffs %+v, release.DefaultSignoffs %+v", data.Violet.ReleaseSignoffs, release.DefaultSignoffs)
	}
}
