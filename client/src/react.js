export { usePulseChannel } from "./usePulseChannel.js";
export { PulseProvider, configurePulse, defaultConnection } from "./provider.js";
