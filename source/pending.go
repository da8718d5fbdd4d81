package source

import (
	"context"
	"fmt"
)

func openOCI(context.Context, string, Options) (Source, error) {
	return nil, fmt.Errorf("%w: %s is not read yet", ErrUnsupported, SchemeOCI)
}
