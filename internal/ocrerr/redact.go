package ocrerr

import "regexp"

// Object keys can carry personal data (customers name files after people
// and their ID numbers), and storage errors quote them: the SDK's own
// messages hold the request URL. Redact keeps the bucket and host, which is
// what an operator needs to find the failing store, and drops the paths.
// Keys may hold spaces, tabs and punctuation, so a path runs to a quote, a
// line end, or ": " (where our messages and the SDK's go on), not to the
// first space; a key that itself holds ": " is cut there (its tail stays).
// A file:// URI keeps only its scheme: every directory of a path may name
// a person, and the root is in the configuration anyway.
var objectPath = regexp.MustCompile(`((?:s3|https?)://[^/\s"']+|file://)/(?:[^"'\n:]|:[^\s"'])*`)

// Redact wraps err so that its message names no object keys. errors.Is and
// errors.As still see the original error.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	return redacted{err}
}

type redacted struct{ err error }

func (r redacted) Error() string { return objectPath.ReplaceAllString(r.err.Error(), "$1/…") }
func (r redacted) Unwrap() error { return r.err }
