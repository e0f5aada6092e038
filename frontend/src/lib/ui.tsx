// Small shared UI pieces.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean; footer?: ComponentChildren }) {
  useEffect(() => {
    const k = (e: KeyboardEvent) => {
      if (e.key === "Escape") props.onClose();
    };
    window.addEventListener("keydown", k);
    return () => window.removeEventListener("keydown", k);
  }, []);
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`modal ${props.wide ? "wide" : ""}`} role="dialog" aria-label={props.title}>
        <div class="modal-head">
          <h2>{props.title}</h2>
          <button class="icon-btn" aria-label="Close" onClick={props.onClose}>
            ✕
          </button>
        </div>
        <div class="modal-body">{props.children}</div>
        {props.footer ? <div class="modal-foot">{props.footer}</div> : null}
      </div>
    </div>
  );
}

export function Alert(props: { kind?: "error" | "success" | "info" | "warning"; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${props.kind || "info"}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Field(props: { label: string; description?: string; children: ComponentChildren; htmlFor?: string }) {
  return (
    <div class="field">
      <label class="field-label" for={props.htmlFor}>
        {props.label}
      </label>
      {props.description ? <div class="field-desc">{props.description}</div> : null}
      {props.children}
    </div>
  );
}

export function Spinner() {
  return <div class="spinner" aria-label="Loading" />;
}

export function PageHeader(props: { title: string; subtitle?: string; actions?: ComponentChildren }) {
  return (
    <div class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle ? <div class="muted">{props.subtitle}</div> : null}
      </div>
      {props.actions ? <div class="page-actions">{props.actions}</div> : null}
    </div>
  );
}

/** Close a popup when clicking outside of it. */
export function useOutside(open: boolean, onClose: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const h = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    const t = setTimeout(() => document.addEventListener("mousedown", h), 0);
    return () => {
      clearTimeout(t);
      document.removeEventListener("mousedown", h);
    };
  }, [open]);
  return ref;
}

export function Tags(props: { tags?: string[] }) {
  return (
    <span class="tags">
      {(props.tags || []).map((t) => (
        <span key={t} class="tag">
          {t}
        </span>
      ))}
    </span>
  );
}

export function downloadText(name: string, text: string, type = "application/json"): void {
  const blob = new Blob([text], { type });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.dataset.native = "";
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 0);
}
