package dashboard

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pthv/reach/internal/pthv"
)

// Objects is what Local needs of S3.
type Objects interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Principal is a caller Local accepts on presigned links: its secret key and the IAM role it
// acts as.
type Principal struct {
	SecretKey string
	Role      string
}

// Local serves the dashboard on the local stack as CloudFront serves it in AWS, from the same
// published objects of the reports bucket:
//
//   - GET /path reads public/path (/ is public/index.html), like the distribution's default
//     behaviour with origin access control;
//   - GET /published/… must carry a presigned query (Signature Version 4, service s3) made for
//     the local S3 endpoint, as CloudFront passes such a request to S3 unchanged. Local checks
//     the signature as S3 does, with the principal's secret, and the key against what the
//     principal's role may read, as IAM does (infra: the national staff role reads
//     published/reach/*, a district's role published/reach/districts/{id}/*);
//   - every answer carries SecurityHeaders; text is gzip-compressed for clients that accept
//     it, as the distribution compresses.
//
// Anything else is 404 (an object that does not exist), 403 (a bad or expired signature, a
// key the role may not read) or 405 (a method other than GET and HEAD).
type Local struct {
	S3     Objects
	Bucket string
	// Endpoint is the S3 endpoint presigned links are made for (AWS_ENDPOINT_URL, path-style
	// addressing: the canonical path is /{bucket}/{key}); Region its signing region.
	Endpoint, Region string
	// Principals maps access key ids to callers; RolePrefix names their roles
	// ({prefix}-national, {prefix}-district-{id}).
	Principals map[string]Principal
	RolePrefix string
	Now        func() time.Time
}

func (l *Local) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// ServeHTTP implements http.Handler.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range SecurityHeaders() {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" {
		p = "/index.html"
	}
	if strings.Contains(p, "..") || strings.Contains(p, "//") || !strings.HasPrefix(p, "/") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	key := "public" + p
	cache := "no-cache"
	if strings.HasPrefix(p, "/published/") {
		key = p[1:]
		cache = "no-store"
		if status, msg := l.authorize(r, key); status != 0 {
			http.Error(w, msg, status)
			return
		}
	}
	out, err := l.S3.GetObject(r.Context(), &s3.GetObjectInput{Bucket: &l.Bucket, Key: &key})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		http.Error(w, "not found: nothing is published at "+p+" (the reach function writes the dashboard when it runs: pthv reach recompute --full)", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "the object could not be read", http.StatusBadGateway)
		return
	}
	defer out.Body.Close()
	h := w.Header()
	h.Set("Content-Type", aws.ToString(out.ContentType))
	h.Set("Cache-Control", cache)
	if out.LastModified != nil {
		h.Set("Last-Modified", out.LastModified.UTC().Format(http.TimeFormat))
	}
	if compressible(aws.ToString(out.ContentType)) && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead {
			return
		}
		gz := gzip.NewWriter(w)
		_, _ = io.Copy(gz, out.Body)
		_ = gz.Close()
		return
	}
	if out.ContentLength != nil {
		h.Set("Content-Length", fmt.Sprint(*out.ContentLength))
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, out.Body)
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "image/svg+xml")
}

// authorize checks a presigned request for key: 0 when it may be served, otherwise the
// status and message S3 would answer with.
func (l *Local) authorize(r *http.Request, key string) (int, string) {
	p, err := checkPresigned(r.URL.Query(), presignTarget{endpoint: l.Endpoint, region: l.Region, bucket: l.Bucket, key: key},
		l.Principals, l.now())
	if err != nil {
		return http.StatusForbidden, err.Error()
	}
	national := l.RolePrefix + "-national"
	district := l.RolePrefix + "-district-"
	switch {
	case p.Role == national && strings.HasPrefix(key, pthv.KeyPrefix("published", "reach")):
		return 0, ""
	case strings.HasPrefix(p.Role, district):
		id := strings.TrimPrefix(p.Role, district)
		if id != "" && strings.HasPrefix(key, pthv.KeyPrefix("published", "reach", "districts", id)) {
			return 0, ""
		}
	}
	return http.StatusForbidden, "AccessDenied: the caller's role may not read " + key
}

// Server is an HTTP server on 127.0.0.1 for a handler such as Local.
type Server struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

// StartServer serves h on a free port of 127.0.0.1 until Close.
func StartServer(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dashboard: listen: %w", err)
	}
	s := &Server{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the server's address, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.url }

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
