package source

import (
	"context"
	"fmt"
)

func openS3(context.Context, string, Options) (Source, error) {
	return nil, fmt.Errorf("%w: %s is not read yet", ErrUnsupported, SchemeS3)
}

func openOCI(context.Context, string, Options) (Source, error) {
	return nil, fmt.Errorf("%w: %s is not read yet", ErrUnsupported, SchemeOCI)
}
