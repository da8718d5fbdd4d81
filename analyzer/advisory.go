package analyzer

import (
	"fmt"
	"strings"
)

// Advisory is a published report of a header field that corrupts or
// overreads the memory of a loader (GGUF, safetensors): formats that cannot
// run code can still crash the program that reads them.
type Advisory struct {
	// Class is the kind of trigger, as the format's analyzer names it.
	Class string
	// Loader is the loader (and function) the trigger reaches.
	Loader string
	// ID is the advisory id, or "class of ..." when there is none.
	ID string
	// Summary says what the loader does with such a header.
	Summary string
	// URL is where the advisory, the report or the fix is published.
	URL string
}

// HazardMessage is the message of a finding about a trigger of class with
// detail (what the header declares), without a final period: the detail,
// then the loader, the advisory and its source from table. loaders names
// the loaders for a class that table lacks.
func HazardMessage(table []Advisory, loaders, class, detail string) string {
	a := Advisory{Class: class, Loader: loaders, ID: "class of " + class}
	for _, e := range table {
		if e.Class == class {
			a = e
			break
		}
	}
	what := "the trigger of " + a.ID
	if strings.HasPrefix(a.ID, "class of") {
		what = "a trigger of the " + a.ID
	}
	return fmt.Sprintf("%s. This is %s in %s: %s (%s)", strings.TrimSuffix(detail, "."), what, a.Loader, a.Summary, a.URL)
}
