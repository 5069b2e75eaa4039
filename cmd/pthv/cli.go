package main

import (
	"errors"
	"fmt"

	"github.com/pthv/reach/internal/importer"
)

// refusal turns an error of the service into the command's exit: a *importer.RuleError (an
// id the roster does not know, …) is refused with its rule code and exit 1, as a drop file's
// row would be; an unregistered district exits 1 too.
func refusal(err error) error {
	var re *importer.RuleError
	if errors.As(err, &re) {
		return &exitError{code: 1, msg: fmt.Sprintf("refused (%s): %s; nothing was recorded", re.Code, re.Message)}
	}
	if errors.Is(err, importer.ErrNotFound) {
		return &exitError{code: 1, msg: err.Error()}
	}
	return err
}
