// Package blob reads drops from and writes reports to S3: the Blobs that internal/importer,
// internal/cohortsvc, internal/reachsvc, internal/api and internal/ingest each declare. Missing
// objects come back as pthv not-found errors.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pthv/reach/internal/pthv"
)

// S3 is the S3 blob store: the Blobs of internal/importer, cohortsvc, reachsvc, api and ingest.
type S3 struct {
	Client *s3.Client
}

// Options returns the S3 client options for a configuration: path-style addressing when an
// endpoint is set (AWS_ENDPOINT_URL, as for a local stand-in), virtual-hosted otherwise.
func Options(cfg aws.Config) func(*s3.Options) {
	return func(o *s3.Options) {
		// Objects put without a checksum (older clients, some stand-ins) are still read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			o.UsePathStyle = true
		}
	}
}

// New returns an S3 blob store for cfg.
func New(cfg aws.Config) *S3 { return &S3{Client: s3.NewFromConfig(cfg, Options(cfg))} }

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nsk) || errors.As(err, &nf)
}

// ListDrops implements importer.Blobs: every object version under prefix, without delete markers.
func (b *S3) ListDrops(ctx context.Context, bucket, prefix string) ([]pthv.Object, error) {
	if err := pthv.CheckPrefix(prefix); err != nil {
		return nil, refused(err)
	}
	var out []pthv.Object
	p := s3.NewListObjectVersionsPaginator(b.Client, &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
		}
		for _, v := range page.Versions {
			out = append(out, pthv.Object{Bucket: bucket, Key: aws.ToString(v.Key), VersionID: aws.ToString(v.VersionId),
				ETag: strings.Trim(aws.ToString(v.ETag), `"`), Size: aws.ToInt64(v.Size), UploadedAt: uploaded(v.LastModified)})
		}
	}
	return out, nil
}

// Stat implements ingest.Blobs.
func (b *S3) Stat(ctx context.Context, obj pthv.Object) (pthv.Object, error) {
	in := &s3.HeadObjectInput{Bucket: &obj.Bucket, Key: &obj.Key}
	if obj.VersionID != "" {
		in.VersionId = &obj.VersionID
	}
	out, err := b.Client.HeadObject(ctx, in)
	if notFound(err) {
		return obj, fmt.Errorf("%s: %w", obj.Key, pthv.ErrNotFound)
	}
	if err != nil {
		return obj, fmt.Errorf("head %s: %w", obj.Key, err)
	}
	obj.VersionID = aws.ToString(out.VersionId)
	obj.ETag = strings.Trim(aws.ToString(out.ETag), `"`)
	obj.Size = aws.ToInt64(out.ContentLength)
	obj.UploadedAt = uploaded(out.LastModified)
	return obj, nil
}

// Download implements importer.Blobs.
func (b *S3) Download(ctx context.Context, obj pthv.Object, w io.Writer) error {
	in := &s3.GetObjectInput{Bucket: &obj.Bucket, Key: &obj.Key}
	if obj.VersionID != "" && obj.VersionID != "null" {
		in.VersionId = &obj.VersionID
	}
	out, err := b.Client.GetObject(ctx, in)
	if notFound(err) {
		return fmt.Errorf("%s: %w", obj.Key, pthv.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", obj.Key, err)
	}
	defer out.Body.Close()
	if _, err := io.Copy(w, out.Body); err != nil {
		return fmt.Errorf("read %s: %w", obj.Key, err)
	}
	return nil
}

// Put implements importer.Blobs.
func (b *S3) Put(ctx context.Context, bucket, key, contentType string, body []byte) error {
	if err := pthv.CheckKey(key); err != nil {
		return refused(err)
	}
	_, err := b.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: &contentType, ContentLength: aws.Int64(int64(len(body)))})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get implements importer.Blobs.
func (b *S3) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := pthv.CheckKey(key); err != nil {
		return nil, refused(err)
	}
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if notFound(err) {
		return nil, fmt.Errorf("%s: %w", key, pthv.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// refused is the error for a key the service would not build (pthv.Key): Put, Get and
// ListDrops send no request for one. Objects named by S3 (a drop's key, read by Stat and
// Download) are not the service's to check.
func refused(err error) error {
	return &pthv.Error{Code: pthv.CodeInvalid, Message: "a key the service would not build: " + err.Error(), Err: err}
}

// uploaded is an object's upload time to the second: S3's resolution (HeadObject's
// Last-Modified has no fraction; some stand-ins list more), so that the listing and the
// object agree and no order finer than S3's is ever read into it.
func uploaded(t *time.Time) time.Time { return aws.ToTime(t).UTC().Truncate(time.Second) }
