package file

// OnReadDir lets tests see which directories a listing reads.
func OnReadDir(b *Bucket, fn func(dir string)) { b.onReadDir = fn }
