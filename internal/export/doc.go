// Package export turns a stream of ocr-result/v1 objects into JSONL or CSV,
// one result at a time, so a batch of any size exports in constant memory.
//
// The caller feeds result objects as stored (the bytes of each
// <out>/<key>.json) to a [Writer]; it never sees images and never unmasks:
// a cell holds exactly what the result holds. Column sets per document type
// are in docs/export.md and in [Columns].
//
//	w, err := export.NewCSV(os.Stdout, export.Options{Type: "receipt", Excel: true})
//	for raw, err := range export.Decode(r) { ...; w.Write(raw) }
//	err = w.Close()
package export
