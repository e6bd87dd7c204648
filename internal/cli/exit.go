package cli

import "errors"

// ExitError carries the exit code of a command. Err, when set, is printed;
// a nil Err is a plain answer (like "there is a difference") and prints
// nothing more.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code of what Run answered: 0 for nil, the
// code of an ExitError, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*ExitError](err); ok {
		return e.Code
	}
	return 1
}

// ErrorMessage is what to print of what Run answered; "" for nothing.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*ExitError](err); ok && e.Err == nil {
		return ""
	}
	return err.Error()
}
