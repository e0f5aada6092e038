// Simple line icons drawn with SVG primitives (no icon font, no emoji font needed).
const PATHS: Record<string, string> = {
  home: "M3 11 L12 3 L21 11 M5 9 V21 H19 V9",
  grid: "M3 3 H10 V10 H3 Z M14 3 H21 V10 H14 Z M3 14 H10 V21 H3 Z M14 14 H21 V21 H14 Z",
  bell: "M6 17 V11 A6 6 0 0 1 18 11 V17 L20 19 H4 Z M10 21 H14",
  database: "M4 6 A8 3 0 0 0 20 6 A8 3 0 0 0 4 6 V18 A8 3 0 0 0 20 18 V6 M4 12 A8 3 0 0 0 20 12",
  cog: "M12 8 A4 4 0 1 0 12.01 8 M12 2 V5 M12 19 V22 M2 12 H5 M19 12 H22 M4.9 4.9 L7 7 M17 17 L19.1 19.1 M4.9 19.1 L7 17 M17 7 L19.1 4.9",
  cluster: "M12 2 L20 7 V17 L12 22 L4 17 V7 Z M12 2 V22 M4 7 L20 17 M20 7 L4 17",
  sun: "M12 8 A4 4 0 1 0 12.01 8 M12 1 V3 M12 21 V23 M1 12 H3 M21 12 H23 M4.2 4.2 L5.6 5.6 M18.4 18.4 L19.8 19.8 M4.2 19.8 L5.6 18.4 M18.4 5.6 L19.8 4.2",
  moon: "M20 14 A8 8 0 1 1 10 4 A6 6 0 0 0 20 14 Z",
  user: "M12 4 A4 4 0 1 0 12.01 4 M4 21 A8 7 0 0 1 20 21",
  signout: "M14 4 H20 V20 H14 M10 8 L6 12 L10 16 M6 12 H16",
  clock: "M12 3 A9 9 0 1 0 12.01 3 M12 7 V12 L15 15",
  folder: "M3 6 H9 L11 8 H21 V19 H3 Z",
  dashboard: "M3 3 H21 V21 H3 Z M3 9 H21 M10 9 V21",
  panel: "M4 4 H20 V20 H4 Z M8 15 L11 11 L14 13 L17 8",
  refresh: "M20 11 A8 8 0 1 0 18 17 M20 4 V11 H13",
  zoomout: "M10 3 A7 7 0 1 0 10.01 3 M15 15 L21 21 M7 10 H13",
  menu: "M3 6 H21 M3 12 H21 M3 18 H21",
  link: "M10 14 L14 10 M9 7 L11 5 A4 4 0 0 1 19 13 L17 15 M15 17 L13 19 A4 4 0 0 1 5 11 L7 9",
};

export function Icon({ name, size = 16 }: { name: keyof typeof PATHS | string; size?: number }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
      <path d={PATHS[name] || PATHS.panel} />
    </svg>
  );
}
