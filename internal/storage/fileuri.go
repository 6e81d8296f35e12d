package storage

import (
	"fmt"
	"path"
	"strings"
)

// File URIs map onto the Bucket/Key model like this: the bucket is the file
// store's root directory (storage.fileRoot, default "/"), the key is the
// path below it. With the root /data, file:///data/in/a.jpg is bucket
// "/data", key "in/a.jpg", and its result under file:///data/out/ is
// /data/out/in/a.jpg.json, by the same rule as for S3. A bucket name that
// begins with "/" is a file root; S3 bucket names never do.
//
// One object has one spelling, so task IDs built from URIs stay stable:
// the path is taken literally (no percent-decoding, as the AWS CLI takes
// s3:// keys), and "//", "." and ".." segments are refused, not cleaned.

const fileScheme = "file://"

// ParseURIRoot parses s3://bucket/key, or file:///abs/path with the file
// store rooted at fileRoot (an absolute directory). A file URI must be
// absolute and name no host (file:///x, not file://host/x), and must lie
// under fileRoot; a trailing slash means prefix, as for s3://.
func ParseURIRoot(s, fileRoot string) (URI, error) {
	if !strings.HasPrefix(s, "file:") {
		return parseS3URI(s)
	}
	root, err := CleanFileRoot(fileRoot)
	if err != nil {
		return URI{}, err
	}
	p, ok := strings.CutPrefix(s, fileScheme)
	switch {
	case !ok || p == "":
		return URI{}, fmt.Errorf("%q: a file URI is file:///absolute/path", s)
	case !strings.HasPrefix(p, "/"):
		host, _, _ := strings.Cut(p, "/")
		return URI{}, fmt.Errorf("%q: file URIs name no host (%q); write file:///absolute/path", s, host)
	}
	if err := checkFilePath(p); err != nil {
		return URI{}, fmt.Errorf("%q: %w", s, err)
	}
	var key string
	switch {
	case root == "/":
		key = p[1:]
	case p == root || p == root+"/":
		key = ""
	case strings.HasPrefix(p, root+"/"):
		key = p[len(root)+1:]
	default:
		return URI{}, fmt.Errorf("%q: outside the file root %s (storage.fileRoot)", s, root)
	}
	return URI{Bucket: root, Key: key}, nil
}

// checkFilePath refuses paths with more than one spelling: empty, "." and
// ".." segments (a trailing slash is allowed, it marks a prefix), and NUL.
func checkFilePath(p string) error {
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("path holds a NUL byte")
	}
	if p == "/" {
		return nil // the root itself
	}
	segs := strings.Split(strings.TrimSuffix(p[1:], "/"), "/")
	for _, seg := range segs {
		switch seg {
		case "":
			return fmt.Errorf(`path has an empty segment ("//")`)
		case ".", "..":
			return fmt.Errorf("path has a %q segment; write the path without it", seg)
		}
	}
	return nil
}

// CleanFileRoot checks that root is an absolute directory path and returns
// it in the form file buckets are named by: cleaned, no trailing slash
// (except "/"). "" is the default root "/".
func CleanFileRoot(root string) (string, error) {
	if root == "" {
		return "/", nil
	}
	if !path.IsAbs(root) {
		return "", fmt.Errorf("storage.fileRoot %q: not an absolute path", root)
	}
	return path.Clean(root), nil
}

// IsFileBucket reports whether a bucket name is a file store's root.
func IsFileBucket(name string) bool { return strings.HasPrefix(name, "/") }

// IsFile reports whether the URI names a file (file://) object or prefix.
func (u URI) IsFile() bool { return IsFileBucket(u.Bucket) }

func fileURIString(u URI) string {
	if u.Bucket == "/" {
		return fileScheme + "/" + u.Key
	}
	return fileScheme + u.Bucket + "/" + u.Key
}
