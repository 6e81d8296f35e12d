package imageformat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
)

// ErrEncrypted means a PDF is encrypted (password-protected, or restricted
// by an owner password): the worker neither guesses passwords nor strips
// protections, so such a file is not sent.
var ErrEncrypted = errors.New("encrypted PDF (password protection is not supported)")

var disableConfigDir sync.Once

// PDFConfig is the pdfcpu configuration every reader in this project uses:
// no config directory (pdfcpu would otherwise create one in the user's
// home on first use), offline, relaxed validation (real-world PDFs bend the
// spec; a viewer opens them, so should we), and no output optimization.
func PDFConfig() *model.Configuration {
	disableConfigDir.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.Offline = true
	conf.ValidationMode = model.ValidationRelaxed
	conf.Optimize = false
	return conf
}

// ReadPDF parses and validates a PDF with pdfcpu. The whole object graph,
// stream data included, is held in memory until the context is dropped:
// about the file's size. An encrypted file fails with ErrEncrypted; one
// pdfcpu cannot parse with ErrCorrupt and ErrPageCountUnknown.
func ReadPDF(ctx context.Context, rs io.ReadSeeker) (pdf *model.Context, err error) {
	defer func() {
		// pdfcpu reports some malformed input by panicking deep inside;
		// hostile bytes must end as an error, not a crashed worker.
		if r := recover(); r != nil {
			pdf, err = nil, fmt.Errorf("pdf: %v: %w", r, ErrCorrupt)
		}
	}()
	pdf, err = pdfcpu.ReadWithContext(ctx, rs, PDFConfig())
	switch {
	case errors.Is(err, pdfcpu.ErrWrongPassword):
		// A user (open) password is set. pdfcpu v0.11 has no other
		// sentinel for encryption: with no passwords given and a reading
		// command, this is the only way its read fails for the password;
		// a file readable with the empty password is caught below.
		return nil, ErrEncrypted
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("pdf: %v: %w (%w)", err, ErrCorrupt, ErrPageCountUnknown)
	case pdf.Encrypt != nil:
		// Readable with the empty user password, yet protected by its
		// author: we do not strip that.
		return nil, ErrEncrypted
	}
	if err := validate.XRefTable(pdf); err != nil {
		return nil, fmt.Errorf("pdf: %v: %w (%w)", err, ErrCorrupt, ErrPageCountUnknown)
	}
	if pdf.PageCount < 1 {
		return nil, fmt.Errorf("pdf: no pages: %w", ErrCorrupt)
	}
	return pdf, nil
}

func pdfPages(r io.ReaderAt, size int64) (int, error) {
	pdf, err := ReadPDF(context.Background(), io.NewSectionReader(r, 0, size))
	if err != nil {
		return 0, err
	}
	return pdf.PageCount, nil
}
