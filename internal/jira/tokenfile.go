package jira

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// savedTokens is the token file's content. Seed ties it to the config's
// refresh token: when the user puts a new one in the config (after
// authorizing again), the file's older tokens no longer apply.
type savedTokens struct {
	RefreshToken string    `json:"refresh_token"`
	AccessToken  string    `json:"access_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	Seed         string    `json:"config_refresh_token_sha256"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// fingerprint identifies a refresh token without revealing it.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// readTokenFile reads the token file; a missing file is fs.ErrNotExist.
func readTokenFile(path string) (savedTokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return savedTokens{}, fmt.Errorf("reading the OAuth 2.0 token file %s: %w", path, err)
	}
	var saved savedTokens
	// The decode error is not kept: it could quote part of a token.
	if json.Unmarshal(data, &saved) != nil || !validToken(saved.RefreshToken) || saved.RefreshToken == "" || !validToken(saved.AccessToken) {
		return savedTokens{}, fmt.Errorf("reading the OAuth 2.0 token file %s: %w", path, errCorruptTokenFile)
	}
	return saved, nil
}

var errCorruptTokenFile = errors.New("it is not a token file written by tap-jira; delete it to start again from the config's refresh_token")

// writeTokenFile replaces the token file atomically (a temporary file in the
// same directory, synced, then renamed), readable by its owner only, so a
// crash leaves either the old tokens or the new ones.
func writeTokenFile(path string, saved savedTokens, now time.Time) (err error) {
	saved.UpdatedAt = now.UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the OAuth 2.0 token file: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; Chmod states it for umasks
	// and platforms that differ.
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	if _, err = tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the OAuth 2.0 token file %s: %w", path, err)
	}
	// Make the rename durable too; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
