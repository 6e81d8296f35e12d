// Package s3 implements storage.Bucket on Amazon S3 or any S3-compatible
// store (MinIO, NCP/NHN Object Storage) with aws-sdk-go-v2.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Options configures the S3 client.
type Options struct {
	// Endpoint is the store's base URL, e.g. "http://127.0.0.1:9000".
	// Empty means AWS S3 itself (resolved from Region).
	Endpoint string
	// Region defaults to "us-east-1", which MinIO accepts.
	Region string
	// PathStyle addresses buckets as endpoint/bucket/key instead of
	// bucket.endpoint/key; MinIO and most S3-compatible stores need it.
	PathStyle bool
	// AccessKey and SecretKey are static credentials. Both empty means the
	// SDK's default chain (environment, shared config, instance role).
	AccessKey, SecretKey string
	// HTTPClient overrides the SDK's HTTP client (timeouts, transports).
	HTTPClient *http.Client
}

// Store hands out buckets on one S3 endpoint. It is safe for concurrent use.
type Store struct {
	client *s3.Client
}

var _ storage.Store = (*Store)(nil)

// New builds a Store. It does not contact the endpoint.
func New(ctx context.Context, opts Options) (*Store, error) {
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		return nil, errors.New("s3: AccessKey and SecretKey must be set together")
	}
	var loadOpts []func(*config.LoadOptions) error
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.AccessKey != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKey, opts.SecretKey, "")))
	}
	if opts.HTTPClient != nil {
		loadOpts = append(loadOpts, config.WithHTTPClient(opts.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // neither the config nor AWS_REGION/profile named one
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// Recent SDKs add CRC checksums to every upload and validate them on
		// every download. Only send/verify them when an operation requires
		// it: S3-compatible stores differ in support, and validating a
		// download would need the whole body before the caller sees it.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{client: client}, nil
}

// Bucket returns a handle on the named bucket; it does not check that it
// exists. A file root ("/data", from a file:// URI) is no S3 bucket: its
// handle fails every call, saying so, rather than sending the name to S3.
func (s *Store) Bucket(name string) storage.Bucket {
	if storage.IsFileBucket(name) {
		return storage.Unavailable(name, errors.New("a file:// location reached the S3 store (route buckets through storage.Router)"))
	}
	return &Bucket{client: s.client, name: name}
}

// CreateBucket creates a bucket; a bucket that already exists and is ours is
// not an error.
func (s *Store) CreateBucket(ctx context.Context, name string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	// us-east-1 is the one region that must not be named as a constraint.
	if region := s.client.Options().Region; region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(region),
		}
	}
	_, err := s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err == nil || errors.As(err, &owned) {
		return nil
	}
	return fmt.Errorf("s3: create bucket %s: %w", name, err)
}

// Bucket is one S3 bucket.
type Bucket struct {
	client *s3.Client
	name   string
}

var _ storage.Bucket = (*Bucket)(nil)

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Get streams the object body straight from the HTTP response.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, storage.ObjectInfo{}, b.wrap("get", key, err)
	}
	info := storage.ObjectInfo{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		ContentType:  aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified),
		Metadata:     storage.LowerKeys(out.Metadata),
	}
	return out.Body, info, nil
}

// Head returns the object's attributes and user metadata.
func (b *Bucket) Head(ctx context.Context, key string) (storage.ObjectInfo, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return storage.ObjectInfo{}, b.wrap("head", key, err)
	}
	return storage.ObjectInfo{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		ContentType:  aws.ToString(out.ContentType),
		LastModified: aws.ToTime(out.LastModified),
		Metadata:     storage.LowerKeys(out.Metadata),
	}, nil
}

// Put uploads r as one PutObject, so IfNoneMatch/IfMatch apply atomically.
//
// With a known size the body streams from r. A seekable r (bytes.Reader,
// os.File) is read twice, once to sign its SHA-256 and once to send it; any
// other reader is sent once with an UNSIGNED-PAYLOAD signature (headers are
// still signed). With size -1 the body is first spooled to a temporary file,
// because S3 needs a Content-Length and the multipart upload manager would
// lose the single-request conditional semantics; memory stays bounded either
// way.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if size < 0 {
		spooled, n, cleanup, err := spool(r)
		if err != nil {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put s3://%s/%s: spool body: %w", b.name, key, err)
		}
		defer cleanup()
		r, size = spooled, n
	}
	in := &s3.PutObjectInput{
		Bucket:        &b.name,
		Key:           &key,
		Body:          r,
		ContentLength: aws.Int64(size),
		Metadata:      opts.Metadata,
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		in.IfMatch = aws.String(opts.IfMatch)
	}
	var callOpts []func(*s3.Options)
	if _, seekable := r.(io.Seeker); !seekable {
		callOpts = append(callOpts, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
		// smithy sends an *io.PipeReader with chunked encoding, ignoring
		// ContentLength, and S3 refuses that (411 MissingContentLength).
		// Hiding the concrete type keeps the length we know.
		in.Body = struct{ io.Reader }{r}
	}
	out, err := b.client.PutObject(ctx, in, callOpts...)
	if err != nil {
		err = b.wrap("put", key, err)
		// If-Match on a missing object: there is no object with that ETag.
		if opts.IfMatch != "" && errors.Is(err, storage.ErrNotFound) {
			return storage.ObjectInfo{}, fmt.Errorf("s3 put s3://%s/%s: %w", b.name, key, storage.ErrPreconditionFailed)
		}
		return storage.ObjectInfo{}, err
	}
	return storage.ObjectInfo{
		Key:         key,
		Size:        size,
		ETag:        aws.ToString(out.ETag),
		ContentType: opts.ContentType,
		Metadata:    storage.LowerKeys(opts.Metadata),
	}, nil
}

// List pages through ListObjectsV2 until the last page or fn's first error.
func (b *Bucket) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &b.name}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	pages := s3.NewListObjectsV2Paginator(b.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return b.wrap("list", prefix, err)
		}
		for _, obj := range page.Contents {
			err := fn(storage.ObjectInfo{
				Key:          aws.ToString(obj.Key),
				Size:         aws.ToInt64(obj.Size),
				ETag:         aws.ToString(obj.ETag),
				LastModified: aws.ToTime(obj.LastModified),
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes the object; S3 answers 204 for missing keys too.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		err = b.wrap("delete", key, err)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// wrap names the operation and object, and adds the storage sentinel the
// SDK error stands for, keeping the SDK error in the chain for
// storage.IsTransient. SDK errors carry no credentials.
func (b *Bucket) wrap(op, key string, err error) error {
	uri := "s3://" + b.name + "/" + key
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
		return fmt.Errorf("s3 %s %s: %w", op, uri, &storage.NoBucketError{Bucket: b.name, Err: err})
	}
	if sentinel := classify(op, err); sentinel != nil {
		return fmt.Errorf("s3 %s %s: %w: %w", op, uri, sentinel, err)
	}
	return fmt.Errorf("s3 %s %s: %w", op, uri, err)
}

func classify(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey":
			return storage.ErrNotFound
		case "NotFound":
			// HEAD answers carry no body, so a missing key is a bare 404.
			if op == "head" {
				return storage.ErrNotFound
			}
		case "PreconditionFailed", "ConditionalRequestConflict":
			return storage.ErrPreconditionFailed
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && op == "put" {
		if status.HTTPStatusCode() == http.StatusPreconditionFailed {
			return storage.ErrPreconditionFailed
		}
	}
	return nil
}

// spool copies r to a temporary file so an unknown-length body gets a
// length and becomes seekable, without holding it in memory.
func spool(r io.Reader) (*os.File, int64, func(), error) {
	f, err := os.CreateTemp("", "s3-put-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.Copy(f, r)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}
