package export

import (
	"encoding/json"
	"fmt"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// commonColumns start every row of every type: the source is the key a row
// joins on, page is set only for multi-page sources (one row per page).
var commonColumns = []string{"source_uri", "page", "status", "error_code"}

// faceColumn follows the common columns for face-compare: the pair's face image.
const faceColumn = "face_uri"

// column is one type-specific column: its header and how a decoded fields
// object of type T fills it.
type column[T any] struct {
	name string
	get  func(*T) cell
}

// layout is the column set of one document type.
type layout struct {
	columns []string // after the common columns (and face_uri)
	// row appends the type's cells for one fields object (nil: a failed
	// document, every cell empty).
	row   func(fields json.RawMessage, dst []cell) ([]cell, error)
	items *itemLayout // nil: the type has no item rows
}

// itemLayout is the --items column set: rows of a list inside the fields
// (receipt items, medical-receipt cells).
type itemLayout struct {
	columns []string // after the common columns and "item" (1-based index)
	// rows calls emit with each item's cells, in order.
	rows func(fields json.RawMessage, emit func([]cell) error) error
}

// typedRow builds a layout's row function from a column table. prepare
// fills nested structs a vendor left out, so getters need no nil checks.
func typedRow[T any](prepare func(*T), cols []column[T]) ([]string, func(json.RawMessage, []cell) ([]cell, error)) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	row := func(raw json.RawMessage, dst []cell) ([]cell, error) {
		var v T
		if err := decodeFields(raw, &v); err != nil {
			return nil, fmt.Errorf("fields: %w", err)
		}
		failed := len(raw) == 0 || string(raw) == "null"
		if prepare != nil {
			prepare(&v)
		}
		for _, c := range cols {
			if failed {
				dst = append(dst, cell{})
				continue
			}
			dst = append(dst, c.get(&v))
		}
		return dst, nil
	}
	return names, row
}

func newLayout[T any](prepare func(*T), cols []column[T], items *itemLayout) *layout {
	names, row := typedRow(prepare, cols)
	return &layout{columns: names, row: row, items: items}
}

// layouts holds the column set of every document type of result-v1.
var layouts = map[string]*layout{
	result.TypeReceipt:        receiptLayout,
	result.TypeCreditCard:     creditCardLayout,
	result.TypeNameCard:       nameCardLayout,
	result.TypeBizLicense:     bizLicenseLayout,
	result.TypeIDCard:         idCardLayout,
	result.TypeMedicalReceipt: medicalReceiptLayout,
	result.TypePassport:       passportLayout,
	result.TypeFaceCompare:    faceCompareLayout,
}

// Columns returns the CSV header of a document type, or of its item rows
// with items. ok is false for an unknown type, or items of a type that has
// none.
func Columns(docType string, items bool) (cols []string, ok bool) {
	l := layouts[docType]
	if l == nil || (items && l.items == nil) {
		return nil, false
	}
	cols = append(cols, commonColumns...)
	if docType == result.TypeFaceCompare {
		cols = append(cols, faceColumn)
	}
	if items {
		return append(append(cols, "item"), l.items.columns...), true
	}
	return append(cols, l.columns...), true
}

// HasItems reports whether a document type has --items rows.
func HasItems(docType string) bool {
	l := layouts[docType]
	return l != nil && l.items != nil
}
