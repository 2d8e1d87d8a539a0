// Command quickstart logs in to Atlas and prints the current user and their companies.
//
// It runs on the embedded fake Atlas server (package atlastest), so it needs no account and
// no network. For now it speaks plain net/http; it moves to the SDK as the client lands.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/atlas-accounting/atlas-go/atlastest"
)

func main() {
	srv := atlastest.NewServer()
	defer srv.Close()
	fmt.Printf("Using the embedded fake Atlas server at %s (no credentials needed).\n", srv.URL)

	// Log in: email and password for an access token.
	var login struct {
		Tokens struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		} `json:"tokens"`
	}
	creds := map[string]string{"email": srv.Email(), "password": srv.Password()}
	if err := call(srv.URL, "", http.MethodPost, "/auth/login", creds, &login); err != nil {
		log.Fatal(err)
	}
	token := login.Tokens.AccessToken
	fmt.Printf("Logged in; the access token is valid for %d seconds.\n", login.Tokens.ExpiresIn)

	// Who am I?
	var me struct {
		Email        string `json:"email"`
		FullName     string `json:"full_name"`
		Role         string `json:"role"`
		Organization struct {
			Name string `json:"name"`
		} `json:"organization"`
	}
	if err := call(srv.URL, token, http.MethodGet, "/auth/me", nil, &me); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Me: %s <%s>, %s of %s\n", me.FullName, me.Email, me.Role, me.Organization.Name)

	// The companies I can work in; their ids are the company_id of every other call.
	var companies struct {
		Items []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			BaseCurrency string `json:"base_currency"`
		} `json:"items"`
		Total int `json:"total"`
	}
	if err := call(srv.URL, token, http.MethodGet, "/companies", nil, &companies); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Companies (%d):\n", companies.Total)
	for _, c := range companies.Items {
		fmt.Printf("  %s  %s (%s)\n", c.ID, c.Name, c.BaseCurrency)
	}
}

// call sends a JSON request to the API and decodes the JSON answer into out. A status
// other than 2xx is an error carrying the API's detail message.
func call(baseURL, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, baseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct {
			Detail string `json:"detail"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Detail)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
