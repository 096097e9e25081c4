// Go's golang.org/x/oauth2 as a confidential web-app client of the example host, in its default
// mode (AuthStyleAutoDetect: the credentials in a Basic header first). Driven by
// e2e/interop-go.test.js over stdin and stdout:
//
//	go run ./e2e/go-oauth2 ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// It prints the authorization URL (with a PKCE S256 challenge), reads the callback URL the
// host redirected to, redeems its code, refreshes the token, and prints the tokens as JSON.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

func main() {
	if len(os.Args) != 5 {
		fail(fmt.Errorf("usage: go-oauth2 ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI"))
	}
	issuer, clientID, secret, redirectURI := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	config := &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/oauth2/token"},
		RedirectURL:  redirectURI,
		Scopes:       []string{"openid"},
	}
	// RFC 7636 §4.1–4.2.
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		fail(err)
	}
	verifier := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	fmt.Println(config.AuthCodeURL("go-state",
		oauth2.SetAuthURLParam("code_challenge", challenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256")))

	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		fail(err)
	}
	callback, err := url.Parse(strings.TrimSpace(line))
	if err != nil {
		fail(err)
	}
	if callback.Query().Get("state") != "go-state" {
		fail(fmt.Errorf("state mismatch"))
	}
	ctx := context.Background()
	token, err := config.Exchange(ctx, callback.Query().Get("code"), oauth2.SetAuthURLParam("code_verifier", verifier))
	if err != nil {
		fail(err)
	}
	// Refresh: a token source holding an expired token refreshes it with its refresh token.
	expired := *token
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := config.TokenSource(ctx, &expired).Token()
	if err != nil {
		fail(err)
	}
	out, _ := json.Marshal(map[string]string{
		"access_token":    token.AccessToken,
		"refresh_token":   token.RefreshToken,
		"refreshed_token": refreshed.RefreshToken,
		"refreshed_type":  refreshed.TokenType,
	})
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-oauth2:", err)
	os.Exit(1)
}
