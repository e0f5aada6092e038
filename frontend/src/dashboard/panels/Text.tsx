// Text panel: markdown or HTML, always sanitised; variables interpolated first.
import { useMemo } from "preact/hooks";
import { marked } from "marked";
import DOMPurify from "dompurify";
import { interpolate } from "../variables";
import type { PanelProps } from "./types";

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  // links open safely in a new tab; no javascript: URLs survive DOMPurify already
  if (node.tagName === "A") {
    node.setAttribute("rel", "noopener noreferrer");
    if (node.getAttribute("target")) node.setAttribute("target", "_blank");
  }
});

export function sanitizeHtml(html: string): string {
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed", "script"],
    FORBID_ATTR: ["style", "srcset"],
  });
}

export function renderMarkdown(md: string): string {
  return sanitizeHtml(marked.parse(md, { async: false, gfm: true, breaks: false }) as string);
}

export function Text(props: PanelProps) {
  const o = props.panel.options || {};
  const mode = o.mode || props.panel.mode || "markdown";
  const raw = String(o.content ?? props.panel.content ?? "");
  const content = useMemo(() => interpolate(raw, props.vars, { format: "raw" }), [raw, props.vars]);
  const html = useMemo(() => {
    if (mode === "code") return null;
    if (mode === "html") return sanitizeHtml(content);
    return renderMarkdown(content);
  }, [content, mode]);
  return (
    <div class="text-panel markdown" style={{ width: props.width, height: props.height }} data-drawn="true">
      {html === null ? <pre class="code">{content}</pre> : <div dangerouslySetInnerHTML={{ __html: html }} />}
    </div>
  );
}
