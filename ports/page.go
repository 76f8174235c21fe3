package ports

// Page selects a part of an ordered list: the entries after the key After
// ("" from the start), at most Limit of them (0 for all). A caller reads
// the next page with After set to the last key it got.
type Page struct {
	After string
	Limit int
}
