// Package cli holds what the commands of cmd/violet share: the option
// structs of the flags several verbs take (each with AddFlags and
// Validate, as cosign's options package has them), flag values that take
// one of a fixed set of words (checked when set, listed by shell
// completion), the VIOLET_<FLAG> environment variables, the progress line,
// the colour decision and the logger.
//
// Nothing here decides a verdict: the commands call the library packages,
// and map errors to exit codes in one place (cmd/violet, exitCode).
package cli
