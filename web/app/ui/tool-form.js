// A form made from a tool's inputSchema (through the DOM-free schema-form.js): one control per
// field by its kind, the description as help, a message beside each value that would be refused,
// and Run (or Stop while it runs).
import { html, Component } from "./html.js";
import { formFields, initialValues, toArguments, fieldId, valuesFromArguments } from "../schema-form.js";
import { readChosenFile } from "./read-file.js";
import { sizeProblem, describeAttachment, newAttachmentId } from "../attachments.js";

/**
 * @typedef {import("../schema-form.js").Field} Field
 * @typedef {{tool: {name: string, inputSchema: any}, running: boolean, initial?: Record<string, unknown>,
 *            onRun: (args: object, files: import("../attachments.js").Attachment[]) => void,
 *            onStop: () => void}} ToolFormProps
 *   initial: arguments to start the form with (a documentation demo's)
 * @typedef {{values: any, errors: Record<string, string>}} ToolFormState
 */

/**
 * @param {any} values
 * @param {(string | number)[]} path
 */
function valueAt(values, path) {
  return path.reduce((inner, key) => (inner == null ? undefined : inner[key]), values);
}

/**
 * A copy of `values` with `value` at `path`, containers made as needed.
 * @param {any} values
 * @param {(string | number)[]} path
 * @param {any} value
 * @returns {any}
 */
function withValue(values, path, value) {
  if (!path.length) return value;
  const [key, ...rest] = path;
  const container = Array.isArray(values) ? [...values] : { ...(values ?? {}) };
  const next = withValue(container[key], rest, value);
  if (next === undefined && !Array.isArray(container)) delete container[key]; else container[key] = next;
  return container;
}

/**
 * The starting value of an item the user adds to an array: an enum starts at its first option.
 * @param {Field} item
 */
function newItem(item) {
  const value = initialValues([{ ...item, name: "item", required: true }]).item;
  return value === undefined && item.kind === "enum" ? item.options[0]?.value : value;
}

/** @extends {Component<ToolFormProps, ToolFormState>} */
export class ToolForm extends Component {
  /** @param {ToolFormProps} props */
  constructor(props) {
    super(props);
    this.root = formFields(props.tool.inputSchema ?? { type: "object" });
    /** @type {ToolFormState} */
    this.state = { values: props.initial ? valuesFromArguments(this.root, props.initial) : initialValues(this.root),
      errors: {} };
  }

  /** @type {Map<string, import("../attachments.js").Attachment>} the files chosen in this form, by id */
  files = new Map();

  /** @param {File} file */
  choose = async (file) => {
    const read = await readChosenFile(file);
    if (typeof read.base64 !== "string") return read;
    const attachment = { ...read, base64: read.base64, id: newAttachmentId(this.files.keys()) };
    this.files.set(attachment.id, attachment);
    return attachment;
  };

  /**
   * @param {(string | number)[]} path
   * @param {any} value
   */
  set = (path, value) => {
    const key = path.join(".");
    const errors = { ...this.state.errors };
    delete errors[key];
    this.setState({ values: withValue(this.state.values, path, value), errors });
  };

  /** @param {Event} event */
  onSubmit = (event) => {
    event.preventDefault();
    if (this.props.running) return;
    const { arguments: args, errors } = toArguments(this.root, this.state.values);
    this.setState({ errors: /** @type {Record<string, string>} */ (errors) });
    const invalid = Object.keys(errors);
    if (invalid.length) {
      const form = /** @type {HTMLFormElement} */ (event.currentTarget);
      const first = form.querySelector(`#${fieldId(invalid[0].split("."))}`);
      /** @type {HTMLElement | null} */ (first)?.focus();
      return;
    }
    // Chosen files travel as attachments: the arguments name them by id, and the host puts each
    // file's bytes in its place for the call, so the result card shows a name, not the bytes.
    this.props.onRun(args, [...this.files.values()]);
  };

  render() {
    const { running, onStop, tool } = this.props;
    const { values, errors } = this.state;
    const count = Object.keys(errors).length;
    return html`
      <form class="tool-form" onSubmit=${this.onSubmit} novalidate aria-label=${`Arguments of ${tool.name}`}>
        ${this.root.fields.length
          ? this.root.fields.map((field) => html`<${FieldControl} field=${field} path=${[field.name]}
              values=${values} errors=${errors} set=${this.set} choose=${this.choose} />`)
          : html`<p class="tool-note none">This tool takes no arguments.</p>`}
        ${count ? html`<p class="form-errors" role="alert">
          ${count === 1 ? "One value needs fixing" : `${count} values need fixing`} before the tool can run.</p>` : null}
        <div class="buttons">
          ${running
            ? html`<button type="button" class="danger" onClick=${onStop}>Stop</button>`
            : html`<button type="submit" class="primary">Run ${tool.name}</button>`}
        </div>
      </form>`;
  }
}

/**
 * @param {{field: Field, path: (string | number)[], values: any, errors: Record<string, string>,
 *          set: (path: (string | number)[], value: any) => void, label?: string,
 *          choose: (file: File) => Promise<object>}} props
 */
function FieldControl({ field, path, values, errors, set, label, choose }) {
  const id = fieldId(path);
  const error = errors[path.join(".")];
  const value = valueAt(values, path);
  const describedBy = [field.help ? `${id}-help` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const title = label ?? field.label;
  const caption = html`${title}${field.required ? html`<span class="required" aria-hidden="true"> *</span>` : null}`;
  const help = field.help ? html`<p class="help" id=${`${id}-help`}>${field.help}</p>` : null;
  const message = error ? html`<p class="field-error" id=${`${id}-error`}>${error}</p>` : null;
  const common = { id, "aria-describedby": describedBy, "aria-invalid": error ? "true" : undefined,
    required: field.required };
  /** @param {Event} event */
  const text = (event) => /** @type {HTMLInputElement} */ (event.currentTarget).value;

  if (field.kind === "object") {
    return html`
      <fieldset class="field object" id=${id}>
        <legend>${caption}</legend>
        ${help}
        ${field.fields.map((child) => html`<${FieldControl} field=${child} path=${[...path, child.name]}
          values=${values} errors=${errors} set=${set} choose=${choose} />`)}
        ${message}
      </fieldset>`;
  }
  if (field.kind === "array") {
    const items = Array.isArray(value) ? value : [];
    return html`
      <fieldset class="field array" id=${id} aria-describedby=${describedBy}>
        <legend>${caption}</legend>
        ${help}
        <ol class="array-items">
          ${items.map((_, index) => html`
            <li key=${index}>
              <${FieldControl} field=${field.item} path=${[...path, index]} values=${values} errors=${errors}
                set=${set} choose=${choose} label=${`${title} ${index + 1}`} />
              <button type="button" class="secondary remove" aria-label=${`Remove ${title} ${index + 1}`}
                onClick=${() => set(path, items.filter((__, i) => i !== index))}>Remove</button>
            </li>`)}
        </ol>
        <button type="button" class="secondary add"
          onClick=${() => set(path, [...items, newItem(field.item)])}>
          Add ${title.toLowerCase()}
        </button>
        ${message}
      </fieldset>`;
  }
  if (field.kind === "boolean") {
    return html`
      <div class="field boolean">
        <input type="checkbox" ...${common} checked=${Boolean(value)}
          onChange=${(/** @type {Event} */ e) => set(path, /** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
        <label for=${id}>${caption}</label>
        ${help}${message}
      </div>`;
  }
  let control;
  if (field.kind === "file") {
    const chosen = value && typeof value === "object" ? value : null;
    const tooBig = chosen && sizeProblem(chosen.name, chosen.size);
    control = html`
      <input type="file" ...${common} accept=${field.mediaType}
        onChange=${async (/** @type {Event} */ e) => {
          const file = /** @type {HTMLInputElement} */ (e.currentTarget).files?.[0];
          set(path, file ? await choose(file) : undefined);
        }} />
      ${chosen ? html`<p class="chosen-file">${describeAttachment(chosen)}</p>` : null}
      ${tooBig && !error ? html`<p class="field-error" role="alert">${tooBig}</p>` : null}`;
  } else if (field.kind === "enum") {
    control = html`
      <select ...${common} value=${value === undefined ? "" : JSON.stringify(value)}
        onChange=${(/** @type {Event} */ e) => { const v = text(e); set(path, v === "" ? undefined : JSON.parse(v)); }}>
        ${field.required ? null : html`<option value="">(not set)</option>`}
        ${field.options.map((option) => html`<option value=${JSON.stringify(option.value)}>${option.label}</option>`)}
      </select>`;
  } else if (field.kind === "number") {
    control = html`<input type="number" inputmode=${field.integer ? "numeric" : "decimal"} ...${common}
      min=${field.minimum} max=${field.maximum} step=${field.step} value=${value ?? ""}
      onInput=${(/** @type {Event} */ e) => set(path, text(e))} />`;
  } else if (field.kind === "json") {
    control = html`<textarea class="code" rows="4" ...${common} value=${value ?? ""} spellcheck="false"
      placeholder="JSON" onInput=${(/** @type {Event} */ e) => set(path, text(e))}></textarea>`;
  } else if (field.multiline) {
    control = html`<textarea rows="5" ...${common} value=${value ?? ""} spellcheck="false"
      maxlength=${field.maxLength} onInput=${(/** @type {Event} */ e) => set(path, text(e))}></textarea>`;
  } else {
    control = html`<input type="text" ...${common} value=${value ?? ""} maxlength=${field.maxLength}
      onInput=${(/** @type {Event} */ e) => set(path, text(e))} />`;
  }
  return html`
    <div class=${`field ${field.kind}`}>
      <label for=${id}>${caption}</label>
      ${control}
      ${help}${message}
    </div>`;
}
