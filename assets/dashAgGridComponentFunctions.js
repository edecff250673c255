/* AG Grid cell renderers. Values are untrusted text: build elements with React.createElement and
   pass the name as a child string (React escapes it); never innerHTML. */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.MemberLink = function (props) {
    if (props.value === null || props.value === undefined) {
        return null;
    }
    var data = props.data || {};
    var id = data.member_id;
    var text = String(props.value);
    if (id === null || id === undefined || !/^[0-9]+$/.test(String(id))) {
        return React.createElement('span', null, text);
    }
    var href = '/member/' + encodeURIComponent(String(id));
    return React.createElement(
        'a',
        {
            href: href,
            className: 'member-link',
            title: text,
            onClick: function (e) {
                if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) {
                    return;
                }
                // in-app navigation, like dcc.Link: no full page reload
                e.preventDefault();
                window.history.pushState({}, '', href);
                window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
                window.scrollTo(0, 0);
            },
        },
        text
    );
};

/* A DOI as a link to https://doi.org/<DOI> (as plain text on demo data). The DOI is untrusted text: it is only ever a child
   string (escaped by React) and, percent-encoded segment by segment, the path of a fixed
   https://doi.org/ URL, so no other scheme or host can come out of it. */
dagcomponentfuncs.DoiLink = function (props) {
    if (props.value === null || props.value === undefined || props.value === '') {
        return null;
    }
    var doi = String(props.value);
    if (!/^10\.[0-9]{4,9}\//.test(doi)) {
        return React.createElement('span', null, doi);
    }
    // demo data (the header shows the demo badge): fictitious DOIs have no doi.org record
    if (document.querySelector('.demo-badge')) {
        return React.createElement(
            'span',
            {className: 'doi-demo', title: 'Fictitious DOI (demo data): it has no doi.org record'},
            doi
        );
    }
    var href = 'https://doi.org/' + doi.split('/').map(encodeURIComponent).join('/');
    return React.createElement(
        'a',
        {href: href, className: 'doi-link', target: '_blank', rel: 'noopener noreferrer', title: doi},
        doi
    );
};
