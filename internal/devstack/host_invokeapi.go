package devstack

// The Lambda Invoke API the Host serves, so that the AWS SDK's lambda client (the CLI, and
// functions that invoke functions) reaches the local functions.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Invoke API (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).

func (h *Host) invokeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", h.handleInvoke)
	return mux
}

func (h *Host) handleInvoke(w http.ResponseWriter, r *http.Request) {
	name, qualifier := splitFunctionName(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		if qualifier != "" && qualifier != q {
			writeAPIError(w, http.StatusBadRequest, "InvalidParameterValueException",
				"The derived qualifier from the function name does not match the specified qualifier.")
			return
		}
		qualifier = q
	}
	fn := h.fns[name]
	if fn == nil || (qualifier != "" && qualifier != latest) {
		arn := functionARN(name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
		writeAPIError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
		return
	}
	body, tooLarge, err := readLimited(r.Body, maxSyncPayload)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read request body: "+err.Error())
		return
	}
	if tooLarge {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxSyncPayload))
		return
	}
	payload, err := normalizePayload(body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	inv := newInvocation(payload)
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		dec, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(dec) {
			writeAPIError(w, http.StatusBadRequest, "InvalidRequestContentException",
				"Client context must be a valid Base64-encoded JSON object.")
			return
		}
		inv.clientContext = string(dec)
	}
	inv.tenantID = r.Header.Get("X-Amz-Tenant-Id")

	w.Header().Set("X-Amzn-Requestid", inv.id)
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		if !h.invokeAsync(fn, inv) {
			writeAPIError(w, http.StatusServiceUnavailable, "ServiceException", "the local Lambda host is shutting down")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	case "", "RequestResponse":
		res, err := h.invoke(r.Context(), fn, inv)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrHostClosed) {
				status = http.StatusServiceUnavailable
			}
			writeAPIError(w, status, "ServiceException", err.Error())
			return
		}
		w.Header().Set("X-Amz-Executed-Version", latest)
		if res.FunctionError != "" {
			w.Header().Set("X-Amz-Function-Error", res.FunctionError)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.Payload)
	default:
		writeAPIError(w, http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Unsupported invocation type %q", typ))
	}
}

// writeAPIError writes an AWS REST-JSON error as the Lambda service does.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	if w.Header().Get("X-Amzn-Requestid") == "" {
		w.Header().Set("X-Amzn-Requestid", newRequestID())
	}
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	w.Header().Set("X-Amzn-Errortype", code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": kind, "message": msg})
}

// splitFunctionName accepts the forms the Invoke API does: name, name:qualifier,
// ACCOUNT:function:name[:qualifier] and arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier].
func splitFunctionName(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	switch len(parts) {
	case 1:
		return parts[0], ""
	case 2:
		return parts[0], parts[1]
	}
	return s, ""
}
