package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

// newHashPasswordCmd is `izaber-wamp router hash-password`.
func newHashPasswordCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "print a password_hash for the router's users file",
		Args:  noArgs,
		Long: `Prints a password_hash (PBKDF2-SHA256 in passlib's pbkdf2_sha256 format, as
Nexus stores it) for the router's users file, in place of a plaintext
password:

  users:
    - login: alice
      password_hash: "$pbkdf2-sha256$100000$..."

On a terminal it asks for the password twice, without echo; otherwise it
reads the first line of standard input. The password is never an argument
(it would show in the shell history and the process list).`,
		Example: `  izaber-wamp router hash-password
  printf '%s\n' "$PASSWORD" | izaber-wamp router hash-password`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return status(hashPassword(a.stdin, a.stdout, a.stderr))
		},
	}
}

// hashPassword reads a password from stdin (asking twice, without echo, on
// a terminal) and prints its hash.
func hashPassword(stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "izaber-wamp router hash-password: "+format+"\n", a...)
		return 1 // as the router command's own failures
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		a, err := read("Password: ")
		if err != nil {
			return fail("%v", err)
		}
		b, err := read("Again: ")
		if err != nil {
			return fail("%v", err)
		}
		if a != b {
			return fail("the passwords differ")
		}
		pw = a
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fail("%v", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return fail("empty password")
	}
	h, err := nexus.HashPassword(pw)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}
