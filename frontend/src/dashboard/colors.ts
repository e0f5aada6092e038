// Named colours, the classic series palette, threshold colours.

const HUES: Record<string, string[]> = {
  // super-light, light, base, semi-dark, dark
  red: ["#FFA6B0", "#FF7383", "#F2495C", "#E02F44", "#C4162A"],
  orange: ["#FFCB7D", "#FFB357", "#FF9830", "#FF780A", "#FA6400"],
  yellow: ["#FFF899", "#FFEE52", "#FADE2A", "#F2CC0C", "#E0B400"],
  green: ["#C8F2C2", "#96D98D", "#73BF69", "#56A64B", "#37872D"],
  blue: ["#C0D8FF", "#8AB8FF", "#5794F2", "#3274D9", "#1F60C4"],
  purple: ["#DEB6F2", "#CA95E5", "#B877D9", "#A352CC", "#8F3BB8"],
};

const NAMED: Record<string, string> = {};
for (const [hue, shades] of Object.entries(HUES)) {
  NAMED[`super-light-${hue}`] = shades[0];
  NAMED[`light-${hue}`] = shades[1];
  NAMED[hue] = shades[2];
  NAMED[`semi-dark-${hue}`] = shades[3];
  NAMED[`dark-${hue}`] = shades[4];
}
Object.assign(NAMED, {
  transparent: "rgba(0,0,0,0)",
  white: "#ffffff",
  black: "#000000",
  gray: "#808080",
  grey: "#808080",
  "#7eb26d": "#7EB26D",
});

export const PALETTE = [
  "#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0", "#37872D", "#FADE2A",
  "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477", "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F",
  "#F29191", "#82B5D8", "#E5A8E2", "#AEA2E0", "#629E51", "#E5AC0E", "#64B0C8", "#E0752D", "#BF1B00", "#0A50A1",
  "#962D82", "#614D93", "#9AC48A", "#F2C96D", "#65C5DB", "#F9934E", "#EA6460", "#5195CE", "#D683CE", "#806EB7",
];

export function resolveColor(c: string | undefined | null, fallback = "#8AB8FF"): string {
  if (!c) return fallback;
  const k = String(c).trim();
  if (k === "text") return getComputedStyle(document.documentElement).getPropertyValue("--text").trim() || "#ccc";
  return NAMED[k] || NAMED[k.toLowerCase()] || k;
}

/** "#rrggbb" or "rgb(a)" with a new alpha. */
export function withAlpha(color: string, alpha: number): string {
  const c = resolveColor(color);
  let m = /^#([0-9a-f]{6})$/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split("").map((x) => parseInt(x + x, 16));
    return `rgba(${r},${g},${b},${alpha})`;
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(c.replace(/\s/g, ""));
  if (rgb) return `rgba(${rgb[1]},${rgb[2]},${rgb[3]},${alpha})`;
  return c;
}

export function parseRgb(color: string): [number, number, number] {
  const c = resolveColor(color);
  let m = /^#([0-9a-f]{6})/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split("").map((x) => parseInt(x + x, 16));
    return [r, g, b];
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(c.replace(/\s/g, ""));
  if (rgb) return [parseFloat(rgb[1]), parseFloat(rgb[2]), parseFloat(rgb[3])];
  return [128, 128, 128];
}

/** Black or white text for a background colour. */
export function contrastText(bg: string): string {
  const [r, g, b] = parseRgb(bg);
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#111217" : "#ffffff";
}

// Colour schemes for heatmaps: a few stops each, interpolated linearly.
const SCHEMES: Record<string, string[]> = {
  Oranges: ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"],
  Reds: ["#fff5f0", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"],
  Greens: ["#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b"],
  Blues: ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"],
  Purples: ["#fcfbfd", "#dadaeb", "#9e9ac8", "#6a51a3", "#3f007d"],
  Greys: ["#ffffff", "#d9d9d9", "#969696", "#525252", "#000000"],
  Viridis: ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"],
  Magma: ["#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"],
  Inferno: ["#000004", "#56106e", "#bb3754", "#f98e09", "#fcffa4"],
  Plasma: ["#0d0887", "#7e03a8", "#cc4778", "#f89540", "#f0f921"],
  Cividis: ["#00224e", "#434e6c", "#7d7c78", "#bcaf6f", "#fee838"],
  Spectral: ["#9e0142", "#f46d43", "#ffffbf", "#66c2a5", "#5e4fa2"],
  RdYlGn: ["#a50026", "#f46d43", "#ffffbf", "#66bd63", "#006837"],
  RdYlBu: ["#a50026", "#f46d43", "#ffffbf", "#74add1", "#313695"],
  YlOrRd: ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"],
  YlGnBu: ["#ffffd9", "#c7e9b4", "#41b6c4", "#225ea8", "#081d58"],
  Turbo: ["#30123b", "#4686fb", "#1ae4b6", "#f9ba38", "#7a0403"],
  Warm: ["#6e40aa", "#d23ea7", "#ff5e63", "#efa72f", "#aff05b"],
  Cool: ["#6e40aa", "#4c6edb", "#24aad8", "#1ac7c2", "#aff05b"],
  CubehelixDefault: ["#000000", "#1a5235", "#a07949", "#c9a8e6", "#ffffff"],
};

export function schemeColor(name: string | undefined, t: number): string {
  const key = (name || "Oranges").replace(/^interpolate/, "");
  const stops = SCHEMES[key] || SCHEMES.Oranges;
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = parseRgb(stops[i]);
  const b = parseRgb(stops[i + 1]);
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * f)},${Math.round(a[1] + (b[1] - a[1]) * f)},${Math.round(a[2] + (b[2] - a[2]) * f)})`;
}
