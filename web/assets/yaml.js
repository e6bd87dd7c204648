// toYAML prints a JSON value as YAML for reading (not for parsing back):
// strings that YAML would misread are quoted as JSON strings.
const plain = /^[A-Za-z0-9_./@-][A-Za-z0-9_ ./@:+-]*$/;
const reserved = /^(true|false|yes|no|on|off|null|~|-?\d[\d_.eE+-]*|0x[0-9a-fA-F]+)$/i;

function scalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') {
    if (v === '' || !plain.test(v) || reserved.test(v) || v.endsWith(' ') || v.includes(': ') || v.includes(' #')) return JSON.stringify(v);
    return v;
  }
  return String(v);
}

function isEmpty(v) {
  return (Array.isArray(v) && v.length === 0) || (v && typeof v === 'object' && Object.keys(v).length === 0);
}

function emit(v, indent, out) {
  const pad = '  '.repeat(indent);
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item && typeof item === 'object' && !isEmpty(item)) {
        const sub = [];
        emit(item, indent + 1, sub);
        sub[0] = pad + '- ' + sub[0].trimStart();
        out.push(...sub);
      } else out.push(pad + '- ' + (isEmpty(item) ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)));
    }
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    const name = scalar(k);
    if (val && typeof val === 'object' && !isEmpty(val)) {
      out.push(pad + name + ':');
      emit(val, Array.isArray(val) ? indent : indent + 1, out);
    } else if (typeof val === 'string' && val.includes('\n')) {
      out.push(pad + name + ': |-');
      for (const line of val.split('\n')) out.push(pad + '  ' + line);
    } else {
      out.push(pad + name + ': ' + (isEmpty(val) ? (Array.isArray(val) ? '[]' : '{}') : scalar(val)));
    }
  }
}

export function toYAML(value) {
  if (value === null || typeof value !== 'object') return scalar(value) + '\n';
  const out = [];
  emit(value, 0, out);
  return out.join('\n') + '\n';
}
