package ekycemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBodyBytes caps what the emulator reads of one request. The eKYC pages
// give no size limit; 50 MiB is far above any ID card photo.
const maxBodyBytes = 50 << 20

// imageSpec is one image of a request: images[] of the document API,
// cardImage/faceImage of face compare. Data is base64 in JSON bodies and
// absent in multipart bodies, whose bytes come in file parts.
type imageSpec struct {
	Name   string  `json:"name"`
	Format string  `json:"format"`
	Data   *string `json:"data,omitempty"`
}

// documentMessage is the document API body (or its multipart "message").
type documentMessage struct {
	RequestID string      `json:"requestId"`
	Timestamp *int64      `json:"timestamp"`
	Images    []imageSpec `json:"images"`
}

// compareMessage is the face compare body (or its multipart "message").
type compareMessage struct {
	RequestID string     `json:"requestId"`
	CardImage *imageSpec `json:"cardImage"`
	FaceImage *imageSpec `json:"faceImage"`
}

// requestError is a validation failure with its eKYC error code.
type requestError struct {
	code   string
	detail string
}

func (e *requestError) Error() string { return e.code + " " + e.detail }

func badBody(format string, args ...any) *requestError {
	return &requestError{code: codeBodyInvalid, detail: fmt.Sprintf(format, args...)}
}

// supportedFormats are the formats the eKYC pages list.
var supportedFormats = map[string]bool{"jpg": true, "jpeg": true, "png": true, "pdf": true, "tiff": true}

func checkSpec(field string, s *imageSpec) *requestError {
	if s == nil {
		return badBody("%s is required.", field)
	}
	if s.Name == "" {
		return badBody("%s.name is required.", field)
	}
	if s.Format == "" {
		return badBody("%s.format is required.", field)
	}
	if !supportedFormats[strings.ToLower(s.Format)] {
		return &requestError{code: codeFormatUnsupported, detail: field + ".format must be jpg, jpeg, png, pdf or tiff."}
	}
	return nil
}

// bodyKind reports whether the request is JSON or multipart.
func bodyKind(r *http.Request) (string, map[string]string, *requestError) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil, badBody("Content-Type must be application/json or multipart/form-data.")
	}
	switch mt {
	case "application/json", "multipart/form-data":
		return mt, params, nil
	}
	return "", nil, badBody("Content-Type must be application/json or multipart/form-data.")
}

// readParts reads a multipart body: the "message" part and the file parts
// named in files. Unknown parts are an error, as is a part given twice.
func readParts(r *http.Request, files ...string) ([]byte, map[string][]byte, *requestError) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, badBody("malformed multipart body.")
	}
	want := map[string]bool{"message": true}
	for _, f := range files {
		want[f] = true
	}
	got := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, badBody("malformed multipart body.")
		}
		name := p.FormName()
		if !want[name] {
			return nil, nil, badBody("unexpected part %q.", name)
		}
		if _, dup := got[name]; dup {
			return nil, nil, badBody("part %q given twice.", name)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, badBody("malformed multipart body.")
		}
		got[name] = b
	}
	msg, ok := got["message"]
	if !ok {
		return nil, nil, badBody("message is required.")
	}
	delete(got, "message")
	for _, f := range files {
		if len(got[f]) == 0 {
			return nil, nil, badBody("%s file is required.", f)
		}
	}
	return msg, got, nil
}

func decodeStrict(b []byte, v any) *requestError {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return badBody("body is not valid JSON.")
	}
	if dec.More() {
		return badBody("trailing data after the JSON body.")
	}
	return nil
}

func decodeData(field string, s *imageSpec) ([]byte, *requestError) {
	if s.Data == nil || *s.Data == "" {
		return nil, badBody("%s.data is required.", field)
	}
	b, err := base64.StdEncoding.DecodeString(*s.Data)
	if err != nil {
		return nil, badBody("%s.data is not valid base64.", field)
	}
	if len(b) == 0 {
		return nil, badBody("%s.data is empty.", field)
	}
	return b, nil
}

// documentRequest is a validated document API call.
type documentRequest struct {
	requestID string
	image     imageSpec
	data      []byte
}

func parseDocument(r *http.Request) (*documentRequest, *requestError) {
	kind, _, rerr := bodyKind(r)
	if rerr != nil {
		return nil, rerr
	}
	var msg documentMessage
	var file []byte
	if kind == "multipart/form-data" {
		raw, files, rerr := readParts(r, "file")
		if rerr != nil {
			return nil, rerr
		}
		if rerr := decodeStrict(raw, &msg); rerr != nil {
			return nil, rerr
		}
		file = files["file"]
	} else {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, badBody("body could not be read.")
		}
		if rerr := decodeStrict(raw, &msg); rerr != nil {
			return nil, rerr
		}
	}
	if msg.RequestID == "" {
		return nil, badBody("requestId is required.")
	}
	if msg.Timestamp == nil || *msg.Timestamp <= 0 {
		return nil, badBody("timestamp is required.")
	}
	if len(msg.Images) != 1 {
		return nil, badBody("images must hold exactly one image.")
	}
	spec := msg.Images[0]
	if rerr := checkSpec("images[0]", &spec); rerr != nil {
		return nil, rerr
	}
	if kind == "application/json" {
		b, rerr := decodeData("images[0]", &spec)
		if rerr != nil {
			return nil, rerr
		}
		file = b
	} else if spec.Data != nil {
		return nil, badBody("images[0].data must not be set in a multipart body.")
	}
	return &documentRequest{requestID: msg.RequestID, image: spec, data: file}, nil
}

// compareRequest is a validated face compare call.
type compareRequest struct {
	requestID  string
	card, face imageSpec
	cardData   []byte
	faceData   []byte
}

func parseCompare(r *http.Request) (*compareRequest, *requestError) {
	kind, _, rerr := bodyKind(r)
	if rerr != nil {
		return nil, rerr
	}
	var msg compareMessage
	var files map[string][]byte
	if kind == "multipart/form-data" {
		var raw []byte
		raw, files, rerr = readParts(r, "cardImage", "faceImage")
		if rerr != nil {
			return nil, rerr
		}
		if rerr := decodeStrict(raw, &msg); rerr != nil {
			return nil, rerr
		}
	} else {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, badBody("body could not be read.")
		}
		if rerr := decodeStrict(raw, &msg); rerr != nil {
			return nil, rerr
		}
	}
	if msg.RequestID == "" {
		return nil, badBody("requestId is required.")
	}
	if rerr := checkSpec("cardImage", msg.CardImage); rerr != nil {
		return nil, rerr
	}
	if rerr := checkSpec("faceImage", msg.FaceImage); rerr != nil {
		return nil, rerr
	}
	req := &compareRequest{requestID: msg.RequestID, card: *msg.CardImage, face: *msg.FaceImage}
	if kind == "application/json" {
		if req.cardData, rerr = decodeData("cardImage", msg.CardImage); rerr != nil {
			return nil, rerr
		}
		if req.faceData, rerr = decodeData("faceImage", msg.FaceImage); rerr != nil {
			return nil, rerr
		}
	} else {
		if msg.CardImage.Data != nil || msg.FaceImage.Data != nil {
			return nil, badBody("image data must not be set in a multipart message.")
		}
		req.cardData, req.faceData = files["cardImage"], files["faceImage"]
	}
	return req, nil
}
