// Package templates holds the HTML pages people see (sign-in, consent,
// errors) and their static assets, embedded into the binary. Each page
// defines a "content" block rendered inside layout.html. It imports the
// standard library only; httpapi parses and renders the pages.
package templates
