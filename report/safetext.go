package report

// SafeText escapes s as the text report escapes file names and evidence:
// C0 and C1 control characters, DEL, Unicode format characters and bytes
// that are not UTF-8 become visible \xNN or \uNNNN escapes, so that the
// text cannot drive a terminal or forge a line. Other commands' text
// output uses it for names taken from the files they read.
func SafeText(s string) string { return safeText(s) }
