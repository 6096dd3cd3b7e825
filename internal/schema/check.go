package schema

// Node is a compiled schema node as a check of the values an encoder
// writes: the encoder walks a record anyway, in key order, so the values
// are judged on that walk instead of a walk of their own (singer's
// EncodeChecked). A check gives the fast walk's judgement, "valid" or "not
// sure", never more: a record it is not sure of goes to Judge.
type Node = fastNode

// Root is the check of a whole record.
func (s *Schema) Root() *Node { return s.fast }

// Judge is gojsonschema's verdict on a record a check was not sure of:
// nil or a *ValidationError, as Validate gives.
func (s *Schema) Judge(record map[string]any, key string) error {
	if record == nil {
		return s.Validate(record, key)
	}
	return s.judge(record, key)
}

// Prop is the check of the property name, nil if n does not declare it
// (declared whether or not n can judge it).
func (n *Node) Prop(name string) *Node { return n.properties[name] }

// Items is the check of an array's elements, nil if they are not
// constrained.
func (n *Node) Items() *Node { return n.items }

// AcceptsObject and the other Accepts methods report true only when
// gojsonschema would accept the value at n: for an object or an array, its
// type alone (its members are checked by their own nodes).
func (n *Node) AcceptsObject() bool { return !n.unsupported && n.types&tObject != 0 }

func (n *Node) AcceptsArray() bool { return !n.unsupported && n.types&tArray != 0 }

func (n *Node) AcceptsNull() bool { return !n.unsupported && n.types&tNull != 0 }

func (n *Node) AcceptsBool() bool { return !n.unsupported && n.types&tBoolean != 0 }

func (n *Node) AcceptsString(s string) bool { return !n.unsupported && n.validString(s) }

// AcceptsNumber takes a json.Number's text.
func (n *Node) AcceptsNumber(s string) bool { return !n.unsupported && n.validNumber(s) }

// AcceptsRaw takes a jsonscan.Raw's canonical JSON.
func (n *Node) AcceptsRaw(raw string) bool { return !n.unsupported && n.validRaw(raw) }
