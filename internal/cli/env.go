package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// EnvName is the environment variable of a flag: VIOLET_ and the flag's
// name in upper case, dashes as underscores (--fail-on: VIOLET_FAIL_ON).
func EnvName(flag string) string {
	return "VIOLET_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Reserved are the variables of the VIOLET_ namespace that set no flag,
// because the CI integrations use them for something else: the version
// they install (also the name of --version's variable). --help has no
// variable either. (ci/install.sh keeps its downloads in
// VIOLET_INSTALL_CACHE, a name no flag takes.)
var Reserved = map[string]string{
	"VIOLET_VERSION": "the violet release the CI integrations install",
	"VIOLET_HELP":    "",
}

// ApplyEnv sets each flag of fs that the command line did not set from
// its variable (EnvName), when the variable is set and not empty: the flag
// wins over the variable. A list flag takes the variable as one
// comma-separated value. The Reserved variables set nothing. lookup is
// os.LookupEnv, or a map in tests. It
// returns the variables it applied, by flag name, and an error naming the
// variable whose value its flag refuses.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) (map[string]string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	applied := map[string]string{}
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		name := EnvName(f.Name)
		if _, reserved := Reserved[name]; f.Changed || reserved {
			return
		}
		v, ok := lookup(name)
		if !ok || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			var bad *pflag.InvalidValueError
			if errors.As(err, &bad) {
				err = bad.Unwrap()
			}
			errs = append(errs, fmt.Errorf("%s=%q: %v (the variable of --%s)", name, v, err, f.Name))
			return
		}
		applied[f.Name] = name
	})
	return applied, errors.Join(errs...)
}

// EnvNote says which flags named in msg were set from the environment,
// for a usage error about a flag whose value came from a variable:
// " (--workers: VIOLET_WORKERS=-3)", or "".
func EnvNote(msg string, applied map[string]string, lookup func(string) (string, bool)) string {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var notes []string
	for flag, name := range applied {
		if mentions(msg, "--"+flag) {
			v, _ := lookup(name)
			notes = append(notes, fmt.Sprintf("--%s from %s=%q", flag, name, v))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	sort.Strings(notes)
	return " (" + strings.Join(notes, ", ") + ")"
}

// mentions reports whether msg names the flag word (--key, not --key-file).
func mentions(msg, word string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], word)
		if j < 0 {
			return false
		}
		end := i + j + len(word)
		if end == len(msg) || !(msg[end] == '-' || msg[end] >= 'a' && msg[end] <= 'z' || msg[end] >= '0' && msg[end] <= '9') {
			return true
		}
		i = end
	}
}
