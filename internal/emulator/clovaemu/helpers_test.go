package clovaemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/testimages"
)

const (
	testSecret = "test-secret-Zm9v"
	// invokePrefix stands for the domain's invoke URL path; the server is
	// mounted under it as the binary mounts it.
	invokePrefix = "/custom/v1/1234/abcd"
)

type fixture struct {
	srv *Server
	url string // the invoke URL
}

func setup(t *testing.T, o Options) *fixture {
	t.Helper()
	if o.Secret == "" {
		o.Secret = testSecret
	}
	s := New(o)
	mux := http.NewServeMux()
	mux.Handle(invokePrefix+"/", http.StripPrefix(invokePrefix, s))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &fixture{srv: s, url: ts.URL + invokePrefix}
}

// answer is a decoded HTTP answer.
type answer struct {
	status      int
	contentType string
	body        []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %.200s", err, a.body)
	}
}

func (a answer) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	a.json(t, &e)
	return e
}

func (f *fixture) post(t *testing.T, path, contentType string, body []byte, secret string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if secret != "" {
		req.Header.Set("X-OCR-SECRET", secret)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b}
}

// requestSeq numbers requestIds; tests post from several goroutines.
var requestSeq atomic.Int64

// jsonBody is a well-formed application/json request for one image.
func jsonBody(format string, image []byte) []byte {
	return []byte(fmt.Sprintf(`{"version":"V2","requestId":"req-%d","timestamp":1584062336793,"images":[{"format":%q,"name":"demo","data":%q}]}`,
		requestSeq.Add(1), format, base64.StdEncoding.EncodeToString(image)))
}

// postJSON sends a well-formed JSON request for the document type.
func (f *fixture) postJSON(t *testing.T, docType, format string, image []byte) answer {
	t.Helper()
	return f.post(t, "/document/"+docType, "application/json; charset=utf-8", jsonBody(format, image), testSecret)
}

// multipartBody builds a multipart/form-data body; a nil message or file
// leaves that part out.
func multipartBody(t *testing.T, message string, file []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if message != "" {
		if err := mw.WriteField("message", message); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "image.bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func (f *fixture) postMultipart(t *testing.T, docType, format string, image []byte) answer {
	t.Helper()
	msg := fmt.Sprintf(`{"version":"V2","requestId":"mp-%d","timestamp":1584062336793,"images":[{"format":%q,"name":"demo"}]}`, requestSeq.Add(1), format)
	ct, body := multipartBody(t, msg, image)
	return f.post(t, "/document/"+docType, ct, body, testSecret)
}

// shapeDiff lists where got does not have want's shape: a key want has that
// got lacks, a different JSON kind, or a key got has that want lacks and
// that is not in extra (keys the seed's tables document but its example
// leaves out). Arrays are compared element by element against want's first.
func shapeDiff(path string, want, got any, extra map[string]bool) []string {
	var diffs []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %T", path, got)}
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, path+"."+k+": missing")
				continue
			}
			diffs = append(diffs, shapeDiff(path+"."+k, wv, gv, extra)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !extra[k] && !extra[path+"."+k] {
				diffs = append(diffs, path+"."+k+": not in the seed example")
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want array, got %T", path, got)}
		}
		if len(w) > 0 {
			for i, gv := range g {
				diffs = append(diffs, shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[0], gv, extra)...)
			}
		}
	case nil:
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			diffs = append(diffs, fmt.Sprintf("%s: want %T, got %T", path, want, got))
		}
	}
	sort.Strings(diffs)
	return diffs
}

func mustContainNone(t *testing.T, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(string(body), s) {
			t.Errorf("answer holds %q: %.300s", s, body)
		}
	}
}

// sample is a real image of the format, made unique by extra (a marker, or
// any text), so that its Derive differs from other samples'. jpg and png
// carry extra after their end marker, where decoders ignore it.
func sample(format string, extra []byte) []byte {
	seed := int64(crc32.ChecksumIEEE(extra))
	switch format {
	case "jpg":
		return testimages.JPEG(seed, 320, 200, extra)
	case "png":
		return testimages.PNG(seed, 320, 200, extra)
	case "pdf":
		return testimages.PDF(1, seed)
	case "tiff", "tif":
		return testimages.TIFF(seed, 1)
	}
	panic("sample: unknown format " + format)
}
