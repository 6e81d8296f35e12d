package dashboard

// The batch pages sit next to asynqmon, under /batches: server-rendered
// HTML (html/template, embedded, so no build step and every value escaped),
// behind the dashboard's login and its same-origin and Host checks.
//
//	GET  /batches                          batches with progress, and each vendor's state
//	GET  /batches/{id}                     one batch: counts, outputs, failures with codes and result JSON
//	POST /batches/vendors/{vendor}/resume  lift a vendor halt (refused when read-only)
//
// Object keys hold personal data: the pages show them to the logged-in
// operator, but they never reach a URL, a log line or an error message that
// leaves this file.

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// BatchOptions configure the batch pages.
type BatchOptions struct {
	// Store reads the result objects of a batch's failures (the worker's
	// store, built by internal/setup). Nil: failures are listed with their
	// codes but without result JSON.
	Store storage.Store
	// Vendors are the configured vendor accounts, for the vendor panel and
	// the resume button. Empty: the panel says the dashboard needs --config.
	Vendors []VendorLimit
	// MaxRetryAfter caps the shown Retry-After wait as the workers cap it
	// (worker.maxRetryAfter). Default ratelimit.DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// VendorLimit is one configured vendor account and its configured rate.
type VendorLimit struct {
	Name  string
	RPS   float64
	Burst int
}

// Page sizes: a batch can have a million failures; a page shows a slice.
const (
	listDefault     = 50
	listMax         = 500
	failuresPerPage = 50
)

//go:embed templates/*.html templates/*.css
var templateFS embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).ParseFS(templateFS, "templates/*.html"))

// batchPages serves /batches.
type batchPages struct {
	tracker  *batch.Tracker
	gate     *ratelimit.Gate
	vendors  []vendorView // sorted by name
	store    storage.Store
	insp     *asynq.Inspector
	readOnly bool
	now      func() time.Time
}

func newBatchPages(o Options, rdb redis.UniversalClient, insp *asynq.Inspector) *batchPages {
	p := &batchPages{
		tracker:  batch.New(rdb),
		gate:     ratelimit.NewGate(rdb),
		store:    o.Batches.Store,
		insp:     insp,
		readOnly: o.ReadOnly,
		now:      time.Now,
	}
	wait := o.Batches.MaxRetryAfter
	if wait <= 0 {
		wait = ratelimit.DefaultMaxRetryAfter
	}
	for _, v := range o.Batches.Vendors {
		// A limiter only to read the shared state (State); it never acquires.
		lim := ratelimit.New(rdb, v.Name, v.RPS, v.Burst, 1, ratelimit.WithMaxRetryAfter(wait))
		p.vendors = append(p.vendors, vendorView{VendorLimit: v, lim: lim})
	}
	sort.Slice(p.vendors, func(i, j int) bool { return p.vendors[i].Name < p.vendors[j].Name })
	return p
}

// mount registers the pages on mux, each wrapped by auth (the login).
func (p *batchPages) mount(mux *http.ServeMux, auth func(http.Handler) http.Handler) {
	mux.Handle("GET /batches", auth(http.HandlerFunc(p.list)))
	mux.Handle("GET /batches/{$}", http.RedirectHandler("/batches", http.StatusMovedPermanently))
	mux.Handle("GET /batches/{id}", auth(http.HandlerFunc(p.detail)))
	mux.Handle("POST /batches/vendors/{vendor}/resume", auth(http.HandlerFunc(p.resume)))
	mux.Handle("GET /batches/assets/style.css", auth(http.HandlerFunc(serveCSS)))
}

// batchRow is one batch as the pages show it.
type batchRow struct {
	batch.Status
	State        string
	Percent      string // "57.0%"
	PercentValue string // "57.0", for aria-valuenow
	Rate         string
	ETA          string
	Bar          []barPart
}

// barPart is one coloured segment of a progress bar, in percent of the
// batch's total (SVG attributes, so the strict CSP needs no inline style).
type barPart struct {
	Class string
	X, W  string
	N     int64
}

func (p *batchPages) row(s batch.Status) batchRow {
	now := p.now()
	r := batchRow{Status: s, Percent: fmt.Sprintf("%.1f%%", s.Percent()), PercentValue: fmt.Sprintf("%.1f", s.Percent()), Rate: fmt.Sprintf("%.1f docs/s", s.Rate(now)), ETA: "—"}
	switch {
	case s.Done:
		r.State = "done in " + s.FinishedAt.Sub(s.StartedAt).Round(time.Second).String()
	case !s.Sealed:
		r.State = "enqueueing"
	default:
		r.State = "running"
	}
	if eta := s.ETA(now); eta > 0 {
		r.ETA = eta.String()
	}
	x := 0.0
	for _, part := range []struct {
		class string
		n     int64
	}{{"ok", s.Succeeded}, {"failed", s.Failed}, {"skipped", s.Skipped}} {
		if s.Total <= 0 || part.n <= 0 {
			continue
		}
		w := 100 * float64(part.n) / float64(s.Total)
		r.Bar = append(r.Bar, barPart{Class: part.class, X: fmt.Sprintf("%.2f", x), W: fmt.Sprintf("%.2f", w), N: part.n})
		x += w
	}
	return r
}

type listPage struct {
	page
	Batches  []batchRow
	Vendors  []vendorState
	Resumed  string // vendor just resumed (after the POST's redirect)
	Woken    string
	NoConfig bool
}

func (p *batchPages) list(w http.ResponseWriter, r *http.Request) {
	limit := int64(listDefault)
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 || n > listMax {
			p.fail(w, http.StatusBadRequest, fmt.Sprintf("limit: want a number from 1 to %d", listMax))
			return
		}
		limit = n
	}
	ctx := r.Context()
	ids, err := p.tracker.List(ctx, limit)
	if err != nil {
		p.fail(w, http.StatusServiceUnavailable, "Redis: the batch list cannot be read")
		return
	}
	v := listPage{page: p.page("Batches"), NoConfig: len(p.vendors) == 0}
	for _, id := range ids {
		s, err := p.tracker.Get(ctx, id)
		if errors.Is(err, batch.ErrNotFound) {
			continue // expired (batches.retention), not yet trimmed from the index
		}
		if err != nil {
			p.fail(w, http.StatusServiceUnavailable, "Redis: a batch cannot be read")
			return
		}
		v.Batches = append(v.Batches, p.row(s))
		v.Refresh = v.Refresh || !s.Done // follow running batches
	}
	v.Vendors = p.vendorStates(ctx)
	if name := r.URL.Query().Get("resumed"); p.vendor(name) != nil {
		v.Resumed, v.Woken = name, r.URL.Query().Get("woken")
		v.Refresh = false // the notice is for this view only
	}
	p.render(w, http.StatusOK, "batches.html", v)
}

type detailPage struct {
	page
	Batch    batchRow
	Outputs  []batch.Output
	Where    string // why result JSON cannot be shown, if it cannot
	Failures []failureView
	From     int
	Next     int // 0: no next page
	Prev     int // -1: no previous page
	Count    int
}

func (p *batchPages) detail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := layout.CheckBatchID(id); err != nil { // before any Redis call
		p.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	from := 0
	if s := r.URL.Query().Get("from"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			p.fail(w, http.StatusBadRequest, "from: want a failure number, 0 or more")
			return
		}
		from = n
	}
	ctx := r.Context()
	s, err := p.tracker.Get(ctx, id)
	if errors.Is(err, batch.ErrNotFound) {
		p.fail(w, http.StatusNotFound, "no batch "+id+" (never started, or its counters expired: batches.retention)")
		return
	}
	if err != nil {
		p.fail(w, http.StatusServiceUnavailable, "Redis: the batch cannot be read")
		return
	}
	failures, err := p.tracker.Failures(ctx, id)
	if err != nil {
		p.fail(w, http.StatusServiceUnavailable, "Redis: the batch's failures cannot be read")
		return
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].Source < failures[j].Source })
	v := detailPage{page: p.page("Batch " + id), Batch: p.row(s), From: from, Count: len(failures), Prev: -1}
	v.Refresh = !s.Done
	if from > 0 {
		v.Prev = max(from-failuresPerPage, 0)
	}
	if from < len(failures) {
		end := min(from+failuresPerPage, len(failures))
		if end < len(failures) {
			v.Next = end
		}
		failures = failures[from:end]
	} else {
		failures = nil
	}
	v.Outputs, v.Where = p.outputs(ctx, id)
	v.Failures = p.failureViews(ctx, v.Outputs, v.Where == "", failures)
	p.render(w, http.StatusOK, "batch.html", v)
}

func (p *batchPages) resume(w http.ResponseWriter, r *http.Request) {
	if p.readOnly {
		w.Header().Set("Allow", "GET, HEAD")
		p.fail(w, http.StatusMethodNotAllowed, "read-only dashboard: resuming a vendor is refused")
		return
	}
	name := r.PathValue("vendor")
	if p.vendor(name) == nil { // only configured names reach Redis
		p.fail(w, http.StatusNotFound, "no configured vendor "+name)
		return
	}
	woken, err := p.resumeVendor(r.Context(), name)
	if err != nil {
		p.fail(w, http.StatusServiceUnavailable, "Redis: the vendor cannot be resumed")
		return
	}
	q := url.Values{"resumed": {name}, "woken": {strconv.Itoa(woken)}}
	http.Redirect(w, r, "/batches?"+q.Encode()+"#vendors", http.StatusSeeOther)
}

// page is what every page template gets.
type page struct {
	Title    string
	ReadOnly bool
	Refresh  bool // reload every few seconds (a batch still running)
}

func (p *batchPages) page(title string) page { return page{Title: title, ReadOnly: p.readOnly} }

type errorPage struct {
	page
	Message string
}

func (p *batchPages) fail(w http.ResponseWriter, code int, msg string) {
	p.render(w, code, "error.html", errorPage{page: p.page(http.StatusText(code)), Message: msg})
}

func (p *batchPages) render(w http.ResponseWriter, code int, name string, v any) {
	// Render first, so a template error is a clean 500 and not half a page.
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "page cannot be rendered", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header())
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// setPageHeaders: the pages show personal data, so no cache keeps them and
// no other site frames them; the CSP allows the page's own stylesheet only
// (no script at all: every value is rendered by the server).
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	b, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		http.Error(w, "no stylesheet", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// withTimeout bounds the storage reads of one page.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 20*time.Second)
}
