package atlastest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answer: its status code and the detail and field errors of the
// contract's Error body. Endpoints return it; serve turns it into the response.
type apiError struct {
	status int
	detail string
	fields []fieldError
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.detail) }

// fieldError is one entry of the Error body's errors array.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorBody is the contract's Error schema. errors is always present (empty when there
// are no field errors) so that every error answer has the same three keys.
type errorBody struct {
	Detail     string       `json:"detail"`
	StatusCode int          `json:"status_code"`
	Errors     []fieldError `json:"errors"`
}

func errBadRequest(detail string) *apiError {
	return &apiError{status: http.StatusBadRequest, detail: detail}
}

func errUnauthorized(detail string) *apiError {
	return &apiError{status: http.StatusUnauthorized, detail: detail}
}

func errForbidden(detail string) *apiError {
	return &apiError{status: http.StatusForbidden, detail: detail}
}

// errNotFound names the missing thing: errNotFound("Customer") says "Customer not found.".
func errNotFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, detail: what + " not found."}
}

func errConflict(detail string) *apiError {
	return &apiError{status: http.StatusConflict, detail: detail}
}

// errValidation is the 422 answer listing every field that failed.
func errValidation(fields ...fieldError) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, detail: "Validation failed.", fields: fields}
}

// Messages shared by several endpoints.
const (
	msgBadCredentials = "Could not validate credentials."
	msgViewerWrite    = "Your role does not allow this action."
	msgNoCompany      = "You do not have access to this company."
	msgRequired       = "Field required."
)

// writeError answers with err's status and envelope; an error that is not an *apiError is
// a bug in the fake server and becomes a 500 without its text.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, detail: "Internal server error."}
	}
	writeErrorStatus(w, ae.status, ae.detail, ae.fields)
}

// writeErrorStatus writes the contract's Error body with the given status.
func writeErrorStatus(w http.ResponseWriter, status int, detail string, fields []fieldError) {
	if fields == nil {
		fields = []fieldError{}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, status, errorBody{Detail: detail, StatusCode: status, Errors: fields})
}

// writeJSON encodes v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every body is one of our own wire types, so this is a bug; answer like one.
		status = http.StatusInternalServerError
		body = []byte(`{"detail":"Internal server error.","status_code":500,"errors":[]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
