package clovaemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// apiError is an answer in the documented error shape.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + " " + e.message }

func invalidBody(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "0011", fmt.Sprintf("Request body invalid: "+format, args...)}
}

// maxMessageBytes bounds the multipart "message" field, which holds only the
// small JSON envelope.
const maxMessageBytes = 1 << 20

// parsedRequest is a request that passed every check.
type parsedRequest struct {
	requestID string
	name      string
	format    string // as declared ("jpg", "jpeg", "png", "pdf", "tif", "tiff")
	image     []byte
}

// parseRequest reads and validates the body as the seed documents it, in
// either body mode.
func parseRequest(r *http.Request) (*parsedRequest, *apiError) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return nil, invalidBody("Content-Type is malformed")
	}
	switch mediaType {
	case "multipart/form-data":
		return parseMultipart(r, params["boundary"])
	case "application/json", "":
		return parseJSON(r.Body)
	case "application/x-www-form-urlencoded":
		// The seed's own curl example (--data-raw, no Content-Type) sends the
		// JSON body under this type, and the API answers it.
		return parseJSON(r.Body)
	default:
		return nil, invalidBody("Content-Type %q is not supported (application/json or multipart/form-data)", mediaType)
	}
}

func parseJSON(body io.Reader) (*parsedRequest, *apiError) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, readError(err)
	}
	msg, apiErr := decodeMessage(raw)
	if apiErr != nil {
		return nil, apiErr
	}
	img := msg.Images[0]
	if img.Data == nil || *img.Data == "" {
		return nil, invalidBody("images[0].data is required")
	}
	data, err := base64.StdEncoding.DecodeString(*img.Data)
	if err != nil {
		return nil, invalidBody("images[0].data is not valid base64")
	}
	return finish(msg, data)
}

func parseMultipart(r *http.Request, boundary string) (*parsedRequest, *apiError) {
	if boundary == "" {
		return nil, invalidBody("multipart boundary is missing")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalidBody("multipart body is malformed")
	}
	var message, file []byte
	var haveMessage, haveFile bool
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readError(err)
		}
		switch part.FormName() {
		case "message":
			if haveMessage {
				return nil, invalidBody("more than one message field")
			}
			haveMessage = true
			message, err = io.ReadAll(io.LimitReader(part, maxMessageBytes+1))
			if err == nil && len(message) > maxMessageBytes {
				return nil, invalidBody("message field is too large")
			}
		case "file":
			if haveFile {
				return nil, invalidBody("only one file is allowed")
			}
			haveFile = true
			file, err = io.ReadAll(part)
		default:
			_, err = io.Copy(io.Discard, part)
		}
		if err != nil {
			return nil, readError(err)
		}
	}
	if !haveMessage {
		return nil, invalidBody("message field is required")
	}
	msg, apiErr := decodeMessage(message)
	if apiErr != nil {
		return nil, apiErr
	}
	if !haveFile {
		return nil, invalidBody("file is required")
	}
	return finish(msg, file)
}

func readError(err error) *apiError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return invalidBody("request body is larger than %d bytes", tooBig.Limit)
	}
	return invalidBody("request body could not be read")
}

// decodeMessage checks the JSON envelope shared by both body modes.
func decodeMessage(raw []byte) (*requestMessage, *apiError) {
	var msg requestMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&msg); err != nil {
		return nil, invalidBody("body is not the documented JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidBody("unexpected data after the JSON body")
	}
	switch {
	case msg.Version == nil || *msg.Version == "":
		return nil, invalidBody("version is required")
	case *msg.Version != "V2":
		return nil, &apiError{http.StatusBadRequest, "0021", "Protocol version not support."}
	case msg.RequestID == nil || *msg.RequestID == "":
		return nil, invalidBody("requestId is required")
	case msg.Timestamp == nil:
		return nil, invalidBody("timestamp is required")
	case len(msg.Images) == 0:
		return nil, invalidBody("images is required")
	case len(msg.Images) > 1:
		return nil, invalidBody("only one image is allowed per request")
	}
	img := msg.Images[0]
	switch {
	case img.Format == nil || *img.Format == "":
		return nil, invalidBody("images[0].format is required")
	case img.Name == nil || *img.Name == "":
		return nil, invalidBody("images[0].name is required")
	}
	return &msg, nil
}

func finish(msg *requestMessage, image []byte) (*parsedRequest, *apiError) {
	format := *msg.Images[0].Format
	if err := checkImage(format, image); err != nil {
		return nil, invalidBody("%v", err)
	}
	return &parsedRequest{requestID: *msg.RequestID, name: *msg.Images[0].Name, format: format, image: image}, nil
}
