"""The profile options form as a browser reads it: inputs, selects with their
options, and the text of each label, by the control it labels."""

from html.parser import HTMLParser


class OptionsForm(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.inputs: list[dict] = []  # attributes of each <input>
        self.selects: dict[str, dict] = {}  # name -> {"attrs": ..., "options": [attrs]}
        self.labels: dict[str, str] = {}  # the `for` of a <label> -> its text
        self._select = self._label = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input":
            self.inputs.append(a)
        elif tag == "select":
            self._select = a["name"]
            self.selects[self._select] = {"attrs": a, "options": []}
        elif tag == "option" and self._select:
            self.selects[self._select]["options"].append(a)
        elif tag == "label":
            self._label = a.get("for")
            self.labels[self._label] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "label":
            self._label = None

    def handle_data(self, data):
        if self._label is not None:
            self.labels[self._label] += data.strip()

    def radio(self, value: str) -> dict:
        """The radio button with this value."""
        return next(i for i in self.inputs if i.get("type") == "radio" and i["value"] == value)

    def radio_values(self, name: str) -> list[str]:
        """The values a browser may submit for the radio group `name`, in order."""
        return [i["value"] for i in self.inputs if i.get("type") == "radio" and i["name"] == name]

    def option_values(self, name: str) -> list[str]:
        """The values of the select `name`'s options, in order."""
        return [o.get("value") for o in self.selects[name]["options"]]

    def selected_option(self, name: str) -> list[str]:
        return [o["value"] for o in self.selects[name]["options"] if "selected" in o]
