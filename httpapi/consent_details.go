package httpapi

import "oauth2-server.dev/core/authzdetails"

// consentDetail is one RFC 9396 authorization details object as the
// consent page shows it. The page escapes every value; Visible spells out
// the characters that would otherwise hide or reorder text.
type consentDetail struct {
	Type                                      string
	Actions, Locations, Datatypes, Privileges []string
	Identifier                                string
	Fields                                    []authzdetails.Field
	// JSON is the whole object, indented, for whoever wants to read
	// every member as the resource server will.
	JSON string
}

// describeDetails prepares authorization details for the consent page.
func describeDetails(l authzdetails.List) []consentDetail {
	out := make([]consentDetail, 0, len(l))
	for _, d := range l {
		cd := consentDetail{
			Type: authzdetails.Visible(d.Type), Identifier: authzdetails.Visible(d.Identifier),
			Actions: visible(d.Actions), Locations: visible(d.Locations),
			Datatypes: visible(d.Datatypes), Privileges: visible(d.Privileges),
			JSON: authzdetails.Visible(d.Indented()),
		}
		for _, f := range d.Fields() {
			f.Name, f.Value = authzdetails.Visible(f.Name), authzdetails.Visible(f.Value)
			cd.Fields = append(cd.Fields, f)
		}
		out = append(out, cd)
	}
	return out
}

func visible(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = authzdetails.Visible(v)
	}
	return out
}
