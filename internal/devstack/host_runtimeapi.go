package devstack

// The Lambda Runtime API (and the part of the Extensions API that aws-lambda-go uses) that
// each sandbox serves to its process.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).

const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body" // trailer, base64
	hdrExtensionName   = "Lambda-Extension-Name"
	hdrExtensionID     = "Lambda-Extension-Identifier"
	runtimePrefix      = "/2018-06-01/runtime"
	extensionPrefix    = "/2020-01-01/extension"
	errInvalidID       = "InvalidRequestID"
	errStateTransition = "InvalidStateTransition"
)

func (sb *sandbox) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimePrefix+"/invocation/next", sb.handleNext)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/response", sb.handleResponse)
	mux.HandleFunc("POST "+runtimePrefix+"/invocation/{id}/error", sb.handleError)
	mux.HandleFunc("POST "+runtimePrefix+"/init/error", sb.handleInitError)
	mux.HandleFunc("POST "+extensionPrefix+"/register", sb.handleExtensionRegister)
	mux.HandleFunc("GET "+extensionPrefix+"/event/next", sb.handleExtensionNext)
	return mux
}

// handleNext blocks until an invocation is handed to this sandbox and returns it.
func (sb *sandbox) handleNext(w http.ResponseWriter, r *http.Request) {
	for {
		sb.mu.Lock()
		if !sb.initialized {
			sb.initialized = true
			sb.readyAt = time.Now()
		}
		if inv := sb.pending; inv != nil && sb.current == nil {
			sb.pending, sb.current = nil, inv
			sb.served++
			inv.startedAt = time.Now()
			inv.deadline = inv.startedAt.Add(sb.fn.cfg.Timeout)
			deadline := inv.deadline
			sb.mu.Unlock()
			close(inv.started)

			hdr := w.Header()
			hdr.Set("Content-Type", "application/json")
			hdr.Set(hdrRequestID, inv.id)
			hdr.Set(hdrDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
			hdr.Set(hdrFunctionARN, sb.fn.arn)
			hdr.Set(hdrTraceID, inv.traceID)
			if inv.clientContext != "" {
				hdr.Set(hdrClientContext, inv.clientContext)
			}
			if inv.tenantID != "" {
				hdr.Set(hdrTenantID, inv.tenantID)
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(inv.payload)
			return
		}
		wait := sb.notify
		sb.mu.Unlock()
		// While the sandbox stops, /next blocks as on AWS until the process is gone.
		select {
		case <-wait:
		case <-r.Context().Done():
			return
		}
	}
}

// handleResponse accepts the runtime's response for an invocation.
func (sb *sandbox) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "cannot read body: "+err.Error())
		return
	}
	if tooLarge {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxSyncPayload)
		if !sb.complete(id, unhandled("Function.ResponseSizeTooLarge", msg)) {
			writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
			return
		}
		writeRuntimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	res := InvokeResult{Payload: body}
	// aws-lambda-go reports an error met while streaming the response in trailers.
	if et := r.Trailer.Get(hdrErrorType); et != "" {
		payload, err := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody))
		if err != nil || !json.Valid(payload) {
			payload = errorPayload(et, "error while sending the response")
		}
		res = InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled}
	}
	if !sb.complete(id, res) {
		writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

// handleError accepts the runtime's error for an invocation.
func (sb *sandbox) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	payload := sb.readErrorBody(w, r)
	if payload == nil {
		return
	}
	if !sb.complete(id, InvokeResult{Payload: payload, FunctionError: functionErrorUnhandled}) {
		writeRuntimeError(w, http.StatusBadRequest, errInvalidID, "Invalid request ID")
		return
	}
	writeAccepted(w)
}

// handleInitError accepts an initialisation error; it fails the pending invocation and
// the process is replaced.
func (sb *sandbox) handleInitError(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	initialized := sb.initialized
	sb.mu.Unlock()
	if initialized {
		writeRuntimeError(w, http.StatusForbidden, errStateTransition,
			"init/error is only accepted before the runtime's first call to invocation/next")
		return
	}
	payload := sb.readErrorBody(w, r)
	if payload == nil {
		return
	}
	select {
	case sb.initErr <- payload:
	default: // the first report wins
	}
	writeAccepted(w)
}

// readErrorBody returns the error object posted by the runtime, built from the
// Lambda-Runtime-Function-Error-Type header when the body is empty or not JSON. It writes
// an error response and returns nil when the body cannot be read.
func (sb *sandbox) readErrorBody(w http.ResponseWriter, r *http.Request) []byte {
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil || tooLarge {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "cannot read the error body")
		return nil
	}
	et := r.Header.Get(hdrErrorType)
	if et == "" {
		et = "Runtime.Unknown"
	}
	if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
		return errorPayload(et, strings.TrimSpace(string(body)))
	}
	return body
}

// handleExtensionRegister registers an (internal) extension. aws-lambda-go does so, with
// no events, when a function enables SIGTERM handling. Events are never sent except
// SHUTDOWN, when the host stops the process.
func (sb *sandbox) handleExtensionRegister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(hdrExtensionName) == "" {
		writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "missing "+hdrExtensionName)
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	body, _, _ := readLimited(r.Body, 64*1024)
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeRuntimeError(w, http.StatusBadRequest, "InvalidRequest", "invalid body: "+err.Error())
			return
		}
	}
	sb.mu.Lock()
	if sb.initialized {
		sb.mu.Unlock()
		writeRuntimeError(w, http.StatusForbidden, errStateTransition, "extensions must register during init")
		return
	}
	id := newRequestID()
	shutdown := false
	for _, e := range req.Events {
		shutdown = shutdown || e == "SHUTDOWN"
	}
	sb.extensions[id] = shutdown
	sb.mu.Unlock()
	w.Header().Set(hdrExtensionID, id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    sb.fn.cfg.Name,
		"functionVersion": latest,
		"handler":         "bootstrap",
	})
}

// handleExtensionNext blocks until the sandbox stops; an extension registered for
// SHUTDOWN then receives the SHUTDOWN event.
func (sb *sandbox) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	sb.mu.Lock()
	shutdown, ok := sb.extensions[r.Header.Get(hdrExtensionID)]
	sb.mu.Unlock()
	if !ok {
		writeRuntimeError(w, http.StatusForbidden, "Extension.UnknownExtensionIdentifier", "unknown extension identifier")
		return
	}
	if !shutdown {
		<-r.Context().Done() // no event will ever come
		return
	}
	select {
	case <-r.Context().Done():
		return
	case <-sb.dead:
	}
	sb.mu.Lock()
	reason := sb.stopReason
	sb.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"eventType":      "SHUTDOWN",
		"shutdownReason": reason,
		"deadlineMs":     time.Now().Add(shutdownGrace).UnixMilli(),
	})
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeRuntimeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorPayload(errType, msg))
}
