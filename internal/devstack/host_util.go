package devstack

// Helpers of the Lambda host and the API Gateway front: payloads and error objects, AWS-like
// ids, and the prefixed log lines of the functions' output.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

func functionARN(name string) string {
	return "arn:aws:lambda:" + Region + ":" + localAccountID + ":function:" + name
}

func normalizePayload(p []byte) ([]byte, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return []byte("{}"), nil
	}
	if !json.Valid(p) {
		return nil, ErrInvalidPayload
	}
	return bytes.Clone(p), nil
}

// readLimited reads r up to limit bytes; tooLarge reports that there was more.
func readLimited(r io.Reader, limit int64) (data []byte, tooLarge bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		_, _ = io.Copy(io.Discard, r)
		return nil, true, nil
	}
	return data, false, nil
}

type lambdaErrorObject struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func errorPayload(errType, msg string) []byte {
	b, _ := json.Marshal(lambdaErrorObject{ErrorMessage: msg, ErrorType: errType})
	return b
}

func unhandled(errType, msg string) InvokeResult {
	return InvokeResult{Payload: errorPayload(errType, msg), FunctionError: functionErrorUnhandled}
}

func errorResult(id, errType, msg string) InvokeResult {
	res := unhandled(errType, msg)
	res.RequestID = id
	return res
}

func errorTypeOf(payload []byte) string {
	var e lambdaErrorObject
	if json.Unmarshal(payload, &e) != nil || e.ErrorType == "" {
		return "unknown"
	}
	return e.ErrorType
}

func errorMessageOf(payload []byte) string {
	var e lambdaErrorObject
	if json.Unmarshal(payload, &e) != nil {
		return "unknown error"
	}
	return e.ErrorMessage
}

func exitDescription(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "Runtime exited without providing a reason"
	case errors.As(err, &ee):
		return "Runtime exited with error: " + ee.ProcessState.String()
	default:
		return "Runtime exited with error: " + err.Error()
	}
}

func envHas(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") && len(kv) > len(key)+1 {
			return true
		}
	}
	return false
}

func hexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID returns a random UUID (version 4), the form of AWS request ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header for an unsampled request.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hexID(12), hexID(8))
}

func newLogStreamName() string {
	return time.Now().UTC().Format("2006/01/02") + "/[" + latest + "]" + hexID(16)
}

// logSink serialises the lines of all processes onto one writer.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) line(name string, text []byte) {
	buf := make([]byte, 0, len(name)+len(text)+4)
	buf = append(buf, '[')
	buf = append(buf, name...)
	buf = append(buf, "] "...)
	buf = append(buf, text...)
	buf = append(buf, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(buf)
}

func (s *logSink) printf(name, format string, args ...any) {
	s.line(name, fmt.Appendf(nil, format, args...))
}

// lineWriter turns a process's output stream into prefixed lines on a logSink.
type lineWriter struct {
	sink *logSink
	name string
	buf  []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			break
		}
		lw.sink.line(lw.name, bytes.TrimSuffix(lw.buf[:i], []byte("\r")))
		lw.buf = lw.buf[i+1:]
	}
	if len(lw.buf) > maxLogLine {
		lw.flush()
	}
	if len(lw.buf) == 0 {
		lw.buf = nil
	}
	return len(p), nil
}

// flush writes out an unterminated last line. It must not run concurrently with Write.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		lw.sink.line(lw.name, lw.buf)
	}
	lw.buf = nil
}
