// Live tool demos for documentation pages, in the reader's browser, with no server behind the docs:
//   <script type="module" src="https://docs.example.org/cloche/embed/embed.js"></script>
//   <cloche-tool tool="hash.sha256" args='{"text": "hello"}'></cloche-tool>
//   <cloche-python>print("hello")</cloche-python>
// See docs/embedding.md.
import { defineElements } from "./elements.js";

defineElements();
